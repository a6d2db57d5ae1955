/**
 * The backend contract: everything Burrow asks of a sandbox backend. Only Burrow's own types cross it,
 * so the engine never sees the technology behind a backend. A backend that cannot do something throws
 * `BurrowError('NOT_SUPPORTED', ...)`.
 */
import type { Duplex, Readable } from 'node:stream';

/** `paused`: every process is frozen (cgroup freezer) and holds its memory but no CPU; `resume` continues it. */
export type SandboxStatus = 'creating' | 'running' | 'paused' | 'stopped' | 'error';

/** `none`: loopback only. `internal`: a managed network without egress. `bridge`: a managed network with NAT egress. */
export type NetworkMode = 'none' | 'internal' | 'bridge';

export const NETWORK_MODES: readonly NetworkMode[] = ['none', 'internal', 'bridge'];

/**
 * The isolation a sandbox runs under: `runc`, a container on the host's kernel, or `gvisor`, a second, user-space
 * kernel (runsc) between the sandbox and the host's.
 */
export type IsolationRuntime = 'runc' | 'gvisor';

export const ISOLATION_RUNTIMES: readonly IsolationRuntime[] = ['runc', 'gvisor'];

/** An isolation runtime this backend can run now, and the network modes it can give. */
export interface IsolationSupport {
  runtime: IsolationRuntime;
  networkModes: NetworkMode[];
}

export interface PortMapping {
  sandboxPort: number;
  hostPort: number;
  protocol: 'tcp';
}

export interface VolumeMount {
  /** User-facing name; the backend namespaces it (`burrow-<name>`). */
  name: string;
  mountPath: string;
  readOnly: boolean;
}

export interface TmpfsMount {
  path: string;
  /** `<n>[kmg]`, at most 4g. */
  size: string;
  /** Comma-separated mount options; defaults to `rw,noexec,nosuid`. */
  options?: string;
}

export type S3SyncMode = 'hooks' | 'fuse' | 'on_demand';

export interface S3SyncConfig {
  endpoint?: string;
  bucket: string;
  prefix?: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
  mode: S3SyncMode;
  mountPath?: string;
  syncPath?: string;
}

export interface StorageConfig {
  volumes?: VolumeMount[];
  /** Added to, or overriding by path, the backend's default tmpfs mounts. */
  tmpfs?: TmpfsMount[];
  s3?: S3SyncConfig;
}

export interface SandboxConfig {
  image: string;
  env?: Record<string, string>;
  workdir?: string;
  /** Replaces the image's command; the image's own command runs when absent. */
  cmd?: string[];
  /** CPU limit in nano-CPUs (1e9 = one core); 0 or absent = unlimited. */
  cpu?: number;
  /** Memory limit in bytes; 0 or absent = unlimited. */
  memory?: number;
  /** Writable-layer size limit in bytes; refused where the storage driver cannot enforce it. */
  diskLimit?: number;
  /** Maximum number of processes; default 256. */
  pidLimit?: number;
  ports?: PortMapping[];
  /** Caller labels; keys starting with `burrow.` are reserved and refused. */
  labels?: Record<string, string>;
  /** Name of the managed network for `internal` / `bridge`. */
  networkId?: string;
  networkMode?: NetworkMode;
  /** The root filesystem is read-only unless this is true. */
  writableRootfs?: boolean;
  /** Isolation; `runc` when absent. */
  runtime?: IsolationRuntime;
  /**
   * Egress through Burrow's proxy only: the sandbox gets no network interface but loopback, and its programs'
   * HTTP(S)_PROXY point at the agent, which relays to the server's egress proxy; the proxy decides by this policy
   * (the engine's, which may change while the sandbox runs). Absent: the network mode's own egress.
   */
  egress?: EgressPolicy;
  /** Headers the egress proxy adds to requests to a host; never passed into the sandbox nor onto its labels. */
  secrets?: EgressSecret[];
  /** Sandbox ports whose preview URLs need no token. */
  publicPorts?: number[];
  storage?: StorageConfig;
  /**
   * Internal, set only by the engine (never from a request): the host directory holding this sandbox's S3 FUSE
   * mount (`storage.s3.mode = fuse`), bound read-write at `mountPath` with slave propagation, so a re-mount on the
   * host reaches a running sandbox. Not recorded on the container's config label, so snapshots do not carry it.
   */
  s3FuseBind?: S3FuseBind;
}

export interface S3FuseBind {
  hostDir: string;
  mountPath: string;
}

/** Destinations by name (`example.com`, `*.example.com`), address or CIDR (`10.0.0.0/8`); deny wins over allow. */
export interface EgressPolicy {
  allow: string[];
  deny: string[];
}

/** A header the egress proxy adds to each request to `host` (an exact name), HTTPS included. */
export interface EgressSecret {
  host: string;
  header: string;
  value: string;
}

/** The port inside a proxy-only sandbox where the agent takes proxy connections (HTTP_PROXY). */
export const EGRESS_PROXY_PORT = 3128;

export interface SandboxInfo {
  id: string;
  /** The backend's name for the sandbox (the container name). */
  name: string;
  image: string;
  status: SandboxStatus;
  createdAt: Date;
  ports: PortMapping[];
  labels: Record<string, string>;
  /** Host PID of the sandbox's first process; 0 when not running. */
  pid: number;
  /** Address on its network; empty when it has none. */
  ip: string;
  /** Exit code of the main process once it has stopped. */
  exitCode?: number;
  /** True when the kernel's OOM killer ended the sandbox. */
  oomKilled?: boolean;
  /** Why the sandbox is in `error`, when known. */
  error?: string;
  /** The configuration the sandbox was created with (secrets removed). */
  config?: SandboxConfig;
  /** Set on an idle warm-pool member: the key of its pool (see CreateOptions.pool). */
  pool?: string;
}

export type ExecInput = Uint8Array | string | AsyncIterable<Uint8Array>;

/** A terminal's size in character cells. */
export interface PtySize {
  cols: number;
  rows: number;
}

export interface ExecOptions {
  /** argv; never interpreted by a shell. Use `['sh', '-c', '...']` for shell syntax. */
  cmd: string[];
  env?: Record<string, string>;
  workdir?: string;
  /** Docker-style user (`name`, `uid`, `name:group`, `uid:gid`); the image's user when absent. */
  user?: string;
  /**
   * Run on a pseudo-terminal of this size: TERM is set, the process leads a session with the terminal as its
   * controlling TTY, and its output (stdout and stderr merged, as on a terminal) arrives as `stdout` events.
   */
  pty?: PtySize;
  /** Kill the process (and its children) after this many milliseconds; 0 or absent = no limit. */
  timeoutMs?: number;
  /** Bytes fed to the process's stdin, closed afterwards. */
  stdin?: ExecInput;
  /**
   * Keep stdin open for `ExecStream.stdin` writes (streams only). Without `stdin` or `openStdin` the process
   * reads an empty stdin.
   */
  openStdin?: boolean;
  /** Aborting kills the process. */
  signal?: AbortSignal;
  /**
   * `exec` only: bytes kept per stream (stdout and stderr each); the rest is read and discarded, and the result says
   * `truncated`. Defaults to {@link DEFAULT_MAX_OUTPUT_BYTES}. Streams (`execStream`) pass everything through.
   */
  maxOutputBytes?: number;
  /**
   * `exec` only: where stdout goes as it arrives (at most `maxOutputBytes` of it) instead of into the result, whose
   * `stdout` is then empty. Awaited before more output is read, so a slow consumer slows the process's output rather
   * than growing a buffer.
   */
  stdoutSink?: (data: Buffer) => Promise<void>;
}

/** Exit code reported for a process killed by its timeout (as `timeout(1)` does). */
export const TIMEOUT_EXIT_CODE = 124;

/** Output `exec` keeps per stream unless told otherwise (`exec.max_output_bytes`). */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

export interface ExecResult {
  exitCode: number;
  /** At most `maxOutputBytes` of the process's stdout: its first bytes. */
  stdout: Buffer;
  stderr: Buffer;
  /** The process was killed because `timeoutMs` elapsed. */
  timedOut: boolean;
  /** stdout or stderr was longer than `maxOutputBytes` and was cut there (the process still ran to its end). */
  truncated: boolean;
}

export type ExecEvent =
  | { type: 'stdout'; data: Buffer }
  | { type: 'stderr'; data: Buffer }
  | { type: 'exit'; exitCode: number; timedOut: boolean };

export interface ExecStdin {
  write(data: Uint8Array | string): Promise<void>;
  /** Closes the process's stdin (EOF). */
  end(): Promise<void>;
}

/**
 * A running process. Iterate it for its output; the last event is always `exit`.
 * `close()` kills the process if it is still running and releases the stream.
 */
export interface ExecStream extends AsyncIterable<ExecEvent> {
  readonly stdin: ExecStdin;
  /** Sends a signal (`SIGTERM`, `SIGINT`, `SIGKILL`, ...) to the process and its children. */
  kill(signal?: string): Promise<void>;
  /** Resizes the process's terminal (streams started with `pty` only). */
  resize(size: PtySize): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- background processes

/** A background process: it outlives the request and its client, and belongs to the sandbox (not the server). */
export interface ProcessStartOptions {
  cmd: string[];
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  /** A caller's name for the process, e.g. "dev-server". */
  tag?: string;
  /** Keep stdin open for `sendProcessInput`; otherwise the process reads an empty stdin. */
  stdin?: boolean;
  /** Kill the process (and its children) after this many milliseconds; 0 or absent = no limit. */
  timeoutMs?: number;
  /** Run on a pseudo-terminal (see ExecOptions.pty). */
  pty?: PtySize;
  /** Bytes of each output stream kept for replay (default {@link DEFAULT_PROCESS_BUFFER_BYTES}). */
  bufferBytes?: number;
}

export const DEFAULT_PROCESS_BUFFER_BYTES = 1024 * 1024;
/** Exited processes a sandbox keeps (with their final output and exit code); older ones are forgotten. */
export const MAX_EXITED_PROCESSES = 64;

export interface ProcessInfo {
  /** Burrow's id for the process, stable for its lifetime (`proc_...`). */
  id: string;
  /** Its pid inside the sandbox. */
  pid: number;
  tag?: string;
  cmd: string[];
  pty: boolean;
  /** Whether stdin is open for input. */
  stdin: boolean;
  startedAt: Date;
  running: boolean;
  /** Once exited: the exit code (`128 + n` when killed by signal n, 124 when its timeout killed it). */
  exitCode?: number;
  endedAt?: Date;
  timedOut: boolean;
  /** Bytes of output that fell out of the replay buffer before anyone read them, per stream. */
  outputDropped: { stdout: number; stderr: number };
}

export type ProcessEvent =
  | { type: 'stdout'; data: Buffer }
  | { type: 'stderr'; data: Buffer }
  /** `bytes` of `stream` were lost to this reader (the replay buffer overflowed before it got them). */
  | { type: 'dropped'; stream: 'stdout' | 'stderr'; bytes: number }
  | { type: 'exit'; exitCode: number; timedOut: boolean };

export interface AttachOptions {
  /** Start with what the process printed so far (as far as its buffer holds), not only from now on. */
  replay?: boolean;
  signal?: AbortSignal;
}

/** One reader of a process's output; several may attach at once. Ends after `exit` (or when closed). */
export interface ProcessAttachment extends AsyncIterable<ProcessEvent> {
  readonly info: ProcessInfo;
  close(): Promise<void>;
}

export interface ProcessInputOptions {
  /** Close stdin after this input (on a terminal: end-of-file, Ctrl-D). */
  eof?: boolean;
}

// ---------------------------------------------------------------- file watching

export type WatchEventKind = 'create' | 'write' | 'remove' | 'rename' | 'chmod';

export type WatchEvent =
  /** `path` is as the sandbox sees it; `rename` names the old path (the new one arrives as `create`). */
  | { type: 'event'; kind: WatchEventKind; path: Buffer; isDir: boolean }
  /** Events were lost (the kernel's or Burrow's queue overflowed): re-read what matters. */
  | { type: 'overflow' };

export interface WatchOptions {
  recursive?: boolean;
  signal?: AbortSignal;
}

export interface WatchStream extends AsyncIterable<WatchEvent> {
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Address inside the sandbox to connect to; default 127.0.0.1 (the sandbox's own loopback). */
  host?: string;
  signal?: AbortSignal;
}

/** Handles a connection a proxy-only sandbox's program made to its HTTP(S)_PROXY (the composition root wires it). */
export type EgressHandler = (sandboxId: string, connection: Duplex) => void;

/** A path inside the sandbox: a string, or raw bytes for names that are not UTF-8. */
export type SandboxPath = string | Uint8Array;

export interface FileInfo {
  name: string;
  path: string;
  size: number;
  /** Symbolic mode as `ls -l` prints it, e.g. `-rw-r--r--`, `drwxr-xr-x`, `lrwxrwxrwx`. */
  mode: string;
  modTime: Date;
  isDir: boolean;
  isSymlink: boolean;
  /** Target of a symlink, when `isSymlink`. */
  linkTarget?: string;
}

/** A directory's entries; `truncated` when there were more than the listing's limit. */
export interface DirListing {
  entries: FileInfo[];
  truncated: boolean;
}

export interface ListOptions {
  /** Most entries returned (default {@link DEFAULT_MAX_LIST_ENTRIES}); the rest are left out and `truncated` set. */
  maxEntries?: number;
}

export const DEFAULT_MAX_LIST_ENTRIES = 100_000;

export interface FileRead {
  info: FileInfo;
  /**
   * True when `info.size` is the number of bytes `body` yields. False for files whose size the kernel does not
   * report (procfs, sysfs, cgroup files) and for empty files: read `body` to its end.
   */
  sizeExact: boolean;
  /** The file's bytes, streamed. */
  body: Readable;
}

export type FileData = Uint8Array | string | AsyncIterable<Uint8Array>;

export interface WriteFileOptions {
  /** Permission bits for a new file; default 0o644. */
  mode?: number;
  signal?: AbortSignal;
}

export interface SnapshotInfo {
  id: string;
  sandboxId: string;
  name: string;
  imageId: string;
  createdAt: Date;
  /** Bytes the snapshot holds: image layer plus captured tmpfs contents. */
  size: number;
  /** Named volumes the sandbox had mounted (their contents are shared state and not copied). */
  volumes: VolumeMount[];
  /** Configuration a restore gives the new sandbox. */
  config: SandboxConfig;
}

export interface SandboxStats {
  /** Percent of one CPU over the sampling interval (200 = two cores busy). */
  cpuPercent: number;
  memoryUsage: number;
  memoryLimit: number;
  memoryPercent: number;
  networkRx: number;
  networkTx: number;
  diskRead: number;
  diskWrite: number;
  pidCount: number;
  timestamp: Date;
}

export interface PullProgress {
  image: string;
  status: string;
  /** The layer the event is about (Docker's short layer id), when it is about one. */
  layer?: string;
  /** Bytes done and total for the current layer, when the registry reports them. */
  current?: number;
  total?: number;
}

export interface CreateOptions {
  /** Called while a missing image is pulled. */
  onProgress?: (progress: PullProgress) => void;
  signal?: AbortSignal;
  /**
   * Creates an idle warm-pool member of this pool: the backend marks the sandbox so that `info`/`list` report
   * `pool` (this survives a server crash, so boot reconcile can adopt or remove the member). The mark is fixed
   * at create; once a member is taken, the store's record is what makes it an ordinary sandbox.
   */
  pool?: string;
}

/** Limits a running sandbox can change (`updateLimits`); absent fields are left as they are. */
export interface SandboxLimits {
  /** Nano-CPUs; 0 removes the limit. */
  cpu?: number;
  /** Bytes; 0 removes the limit. */
  memory?: number;
  /** Maximum number of processes; 0 removes the limit. */
  pidLimit?: number;
}

export interface RestoreOptions {
  /** Id for the new sandbox; generated when absent. */
  id?: string;
  /** Told how far the restore is (called often; the caller decides how often to show it). */
  onProgress?: (progress: SnapshotProgress) => void;
}

export interface SnapshotOptions {
  /** Told how far the snapshot is (called often; the caller decides how often to show it). */
  onProgress?: (progress: SnapshotProgress) => void;
}

/** How far a snapshot or restore is: the tmpfs contents it has archived or refilled, and the layer it commits. */
export interface SnapshotProgress {
  /** `tmpfs`: archiving (snapshot) or refilling (restore) tmpfs contents; `commit`: committing the writable layer. */
  phase: 'tmpfs' | 'commit';
  /** tmpfs bytes archived or refilled so far, over all mounts. */
  bytes: number;
  /** The writable layer's size, in the commit phase. */
  layerBytes?: number;
}

export interface ForkOptions {
  /** Configuration of every copy (the original's when absent), e.g. without host ports, which bind only once. */
  config?: SandboxConfig;
}

/** Memory facts about one sandbox from its cgroup, for the pressure monitor. */
export interface SandboxMemory {
  /** Bytes in use. */
  usage: number;
  /** The soft limit in force (`updateMemorySoftLimit`); 0 when none. */
  softLimit: number;
  /**
   * Percent of the last 10 s in which some process of the sandbox stalled waiting for memory (the cgroup's
   * `memory.pressure`, cgroup v2); absent where the kernel does not report it per cgroup (v1).
   */
  stallPercent?: number;
  /** Major page faults since the sandbox started (cgroup v1 `memory.stat`): a stall signal where PSI is missing. */
  majorFaults?: number;
}

/** What happened to a sandbox outside Burrow's own calls (its process died, the OOM killer struck, ...). */
export type RuntimeEvent =
  | { type: 'started'; id: string }
  | { type: 'paused'; id: string }
  | { type: 'resumed'; id: string }
  | { type: 'died'; id: string; exitCode: number; oomKilled: boolean }
  | { type: 'removed'; id: string };

export interface Runtime {
  ping(): Promise<void>;
  /** The isolation runtimes this backend can run now (`runc` always), with the network modes each gives. */
  isolations(): Promise<IsolationSupport[]>;

  create(id: string, config: SandboxConfig, options?: CreateOptions): Promise<void>;
  start(id: string): Promise<void>;
  stop(id: string, timeoutMs?: number): Promise<void>;
  /** Removes the sandbox and everything it owns (a paused one too); removing a missing sandbox succeeds. */
  remove(id: string): Promise<void>;
  /**
   * Freezes every process of a running sandbox (they keep their memory and state, and use no CPU). Exec and
   * file calls on a paused sandbox fail with SANDBOX_NOT_RUNNING. Pausing a paused sandbox succeeds; a sandbox
   * that is not running is SANDBOX_NOT_RUNNING.
   */
  pause(id: string): Promise<void>;
  /** Continues a paused sandbox's processes where they were. Resuming a running sandbox succeeds. */
  resume(id: string): Promise<void>;
  info(id: string): Promise<SandboxInfo>;
  list(): Promise<SandboxInfo[]>;

  exec(id: string, options: ExecOptions): Promise<ExecResult>;
  /** Starts a process; resolves once it runs (or rejects, e.g. with SANDBOX_NOT_RUNNING). */
  execStream(id: string, options: ExecOptions): Promise<ExecStream>;

  readFile(id: string, path: SandboxPath): Promise<FileRead>;
  /** Creates or replaces a file, creating missing parent directories. */
  writeFile(
    id: string,
    path: SandboxPath,
    data: FileData,
    options?: WriteFileOptions,
  ): Promise<{ bytes: number }>;
  listDir(id: string, path: SandboxPath, options?: ListOptions): Promise<DirListing>;
  stat(id: string, path: SandboxPath): Promise<FileInfo>;
  /** Creates a directory and its missing parents; an existing directory is fine. */
  mkdir(id: string, path: SandboxPath): Promise<void>;
  /** Removes a file or a directory tree. */
  removeFile(id: string, path: SandboxPath): Promise<void>;

  snapshot(id: string, name: string, options?: SnapshotOptions): Promise<SnapshotInfo>;
  /** Creates a new sandbox from a snapshot and returns its id; the original is untouched. */
  restore(snapshotId: string, options?: RestoreOptions): Promise<string>;
  /**
   * Creates one new running sandbox per id from the current state of sandbox `id` (writable layer and tmpfs
   * contents), leaving no snapshot behind. Processes do not carry over. The original may be paused briefly; a
   * paused or stopped original is SANDBOX_NOT_RUNNING. On failure, no copy is left.
   */
  fork(id: string, ids: readonly string[], options?: ForkOptions): Promise<void>;
  /** Snapshots of one sandbox, or all when `sandboxId` is absent. */
  listSnapshots(sandboxId?: string): Promise<SnapshotInfo[]>;
  removeSnapshot(snapshotId: string): Promise<void>;

  stats(id: string): Promise<SandboxStats>;
  /** Sets a running sandbox's memory limit; 0 removes it. */
  updateMemoryLimit(id: string, bytes: number): Promise<void>;
  /** Changes a running sandbox's CPU, memory and process limits (a warm-pool member taking a request's limits). */
  updateLimits(id: string, limits: SandboxLimits): Promise<void>;
  /**
   * Sets a soft memory limit, 0 removes it: above it the kernel reclaims the sandbox's memory first (cgroup v1
   * soft limit) or throttles its allocations (cgroup v2 `memory.high`); nothing is killed, unlike a hard limit.
   * Never above the hard limit.
   */
  updateMemorySoftLimit(id: string, bytes: number): Promise<void>;
  /** Memory use and stall signals of a running or paused sandbox. */
  memory(id: string): Promise<SandboxMemory>;

  /** Events about sandboxes, until the signal aborts. */
  events(signal: AbortSignal): AsyncIterable<RuntimeEvent>;

  /** Starts a background process; resolves once it runs. */
  startProcess(id: string, options: ProcessStartOptions): Promise<ProcessInfo>;
  /** The sandbox's processes, running and recently exited. */
  listProcesses(id: string): Promise<ProcessInfo[]>;
  getProcess(id: string, processId: string): Promise<ProcessInfo>;
  attachProcess(id: string, processId: string, options?: AttachOptions): Promise<ProcessAttachment>;
  /** Resolves with the process's info once it exited, or when `timeoutMs` passed (then `running` is true). */
  waitProcess(id: string, processId: string, timeoutMs: number, signal?: AbortSignal): Promise<ProcessInfo>;
  sendProcessInput(
    id: string,
    processId: string,
    data: Uint8Array,
    options?: ProcessInputOptions,
  ): Promise<void>;
  /** Sends a signal to the process's group. */
  signalProcess(id: string, processId: string, signal: string): Promise<void>;
  /** Kills the process and every descendant (as exec timeouts do). */
  killProcess(id: string, processId: string): Promise<void>;
  resizeProcess(id: string, processId: string, size: PtySize): Promise<void>;

  /** Watches a directory for changes (inotify inside the sandbox), until closed or the signal aborts. */
  watch(id: string, path: SandboxPath, options?: WatchOptions): Promise<WatchStream>;

  /**
   * A TCP connection to `port` made from inside the sandbox's own network namespace (so it works in every network
   * mode, `none` included, without publishing anything): preview URLs and published ports ride on it. Fails with
   * PORT_NOT_LISTENING when nothing listens there.
   */
  connectPort(id: string, port: number, options?: ConnectOptions): Promise<Duplex>;
}
