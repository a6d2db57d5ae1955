/** The SDK's own (camelCase) view of the API's objects. The wire keeps Den's snake_case; convert.ts maps between. */

/** Lifecycle state of a sandbox; `paused`: its processes are frozen (`resume()` continues them). */
export type SandboxStatus = 'creating' | 'running' | 'paused' | 'stopped' | 'error';

/** How a sandbox reaches the network: `none` (no network), `internal` (no egress), `bridge` (NAT egress). */
export type NetworkMode = 'none' | 'internal' | 'bridge';

/** A sandbox port published on the host's 127.0.0.1 (in every network mode, through the server). */
export interface PortMapping {
  sandboxPort: number;
  hostPort: number;
  protocol?: string;
}

/** A named volume mounted into the sandbox (survives the sandbox). */
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}

/** A tmpfs mount: `size` like `256m` or `1g`. */
export interface TmpfsMount {
  path: string;
  size: string;
  options?: string;
}

/** S3 synchronisation of a folder of the sandbox. */
export interface S3SyncConfig {
  bucket: string;
  mode: 'hooks' | 'fuse' | 'on_demand';
  endpoint?: string;
  prefix?: string;
  region?: string;
  accessKey?: string;
  secretKey?: string;
  mountPath?: string;
  syncPath?: string;
}

/** Volumes, tmpfs mounts and S3 sync of a new sandbox. */
export interface StorageConfig {
  volumes?: VolumeMount[];
  tmpfs?: TmpfsMount[];
  s3?: S3SyncConfig;
}

/** `runc`: a container on the host's kernel; `gvisor`: a second, user-space kernel (runsc) in between. */
export type IsolationRuntime = 'runc' | 'gvisor';

/** What the server knows about a sandbox. */
export interface SandboxInfo {
  id: string;
  image: string;
  status: SandboxStatus;
  createdAt: Date;
  /** When the server destroys it; `null` when it never expires. */
  expiresAt: Date | null;
  ports: PortMapping[];
  labels: Record<string, string>;
  /** The sandbox's address on its network (only from `get`/`refresh`). */
  ip?: string;
  networkMode?: NetworkMode;
  /** Its isolation: `runc` (a container) or `gvisor` (a second kernel); from `get`, and in lists when not runc. */
  runtime?: IsolationRuntime;
  /** Why the sandbox is in `error`, when known. */
  error?: string;
  /** Exit code of the main process once it stopped. */
  exitCode?: number;
  /** Last exec, file, attach or proxy use (absent until the first). */
  lastActivityAt?: Date;
  /** When a paused sandbox was paused. */
  pausedAt?: Date;
  /** On a server shared by several tenants: its tenant and the name of the key that created it. */
  owner?: { tenant: string; key: string };
}

/** Options of `burrow.create()`; every field is optional (the server's defaults apply). */
export interface CreateSandboxOptions {
  /** Image reference; the server's default image when absent. */
  image?: string;
  env?: Record<string, string>;
  workdir?: string;
  /** Lifetime in seconds, after which the server destroys the sandbox. */
  timeoutSeconds?: number;
  /** CPU limit in cores (0.5 = half a core). */
  cpus?: number;
  /** Memory limit in bytes. */
  memoryBytes?: number;
  /** Maximum number of processes. */
  pidLimit?: number;
  /** Writable-layer size limit in bytes (where the host can enforce it). */
  diskLimitBytes?: number;
  ports?: PortMapping[];
  storage?: StorageConfig;
  /** Make the root filesystem writable (it is read-only by default; /tmp and /home/sandbox are always writable). */
  writableRootfs?: boolean;
  networkMode?: NetworkMode;
  /** Isolation: `gvisor` puts a second, user-space kernel between the sandbox and the host's (server default: runc). */
  runtime?: IsolationRuntime;
  labels?: Record<string, string>;
  /** Replaces the image's command. */
  cmd?: string[];
  /** Egress allowlist (network mode `bridge`): the sandbox reaches only these destinations, through the egress proxy. */
  egress?: EgressPolicy;
  /** Headers the egress proxy adds to requests to a host; the values never enter the sandbox. */
  secrets?: EgressSecret[];
  /** Ports whose preview URLs need no token. */
  publicPorts?: number[];
  signal?: AbortSignal;
}

/** Destinations by name (`example.com`), wildcard (`*.example.com`, `*`), address or CIDR; deny wins over allow. */
export interface EgressPolicy {
  allow: string[];
  deny?: string[];
}

/** A header the egress proxy adds to every request to `host` (HTTPS included). */
export interface EgressSecret {
  host: string;
  header: string;
  value: string;
}

/** A sandbox's egress as the server reports it (secret values are never reported). */
export interface EgressState {
  /** `null` when the sandbox has no policy (its network mode alone decides). */
  policy: { allow: string[]; deny: string[] } | null;
  secrets: { host: string; header: string }[];
  /** Connections its policy refused since the server started. */
  refused: number;
}

/** The preview URLs of a sandbox port. */
export interface PreviewInfo {
  port: number;
  /** Host-based: `http://<port>-<id>.<preview domain>:<server port>/` (without the token). */
  url: string;
  /** Path-based: `<server>/api/v1/sandboxes/<id>/proxy/<port>/` (without the token). */
  pathUrl: string;
  /** The host (and port) of the host-based URL. */
  host: string;
  /** Scoped token (this sandbox and port, until `expiresAt`); absent when auth is off or the port is public. */
  token?: string;
  expiresAt?: Date;
  public: boolean;
}

/** What a finished command produced. A non-zero `exitCode` is a result, not an error. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the server killed the command at its timeout. */
  timedOut: boolean;
  /**
   * True when stdout or stderr was longer than the server keeps for a `run` (`exec.max_output_bytes`, 16 MiB by
   * default) and holds only its first bytes. Streamed commands deliver everything and are never truncated.
   */
  truncated: boolean;
}

/** One event of a streamed command. */
export type CommandEvent =
  /** On a terminal (`pty`), `bytes` carries the raw output `data` decodes. */
  | { type: 'stdout'; data: string; bytes?: Uint8Array }
  | { type: 'stderr'; data: string }
  | { type: 'exit'; exitCode: number; timedOut: boolean };

/** A directory entry or the result of `stat`. */
export interface FileInfo {
  name: string;
  path: string;
  size: number;
  /** Symbolic mode as `ls -l` prints it, e.g. `-rw-r--r--`. */
  mode: string;
  modTime: Date;
  isDir: boolean;
  isSymlink?: boolean;
  linkTarget?: string;
}

/** A saved copy of a sandbox's filesystem. */
export interface SnapshotInfo {
  id: string;
  sandboxId: string;
  name: string;
  imageId: string;
  createdAt: Date;
  size: number;
}

/** Resource usage of a sandbox at `timestamp`. */
export interface SandboxStats {
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
  /** Connections its egress policy refused since the server started (sandboxes with a policy only). */
  egressRefused?: number;
}

/** The server's version and capability tokens. */
export interface VersionInfo {
  version: string;
  commit: string;
  buildDate: string;
  features: string[];
  api?: string;
}

/** The server's health: `ok` false when its container engine does not answer. */
export interface HealthInfo {
  ok: boolean;
  features: string[];
  reason?: string;
}

/** Progress of a transfer: bytes so far, and the total when known. */
export type ProgressCallback = (transferred: number, total: number | undefined) => void;

/** A terminal's size in character cells (1-1000 each). */
export interface PtySize {
  cols: number;
  rows: number;
}

/** A background process, as the server reports it. */
export interface ProcessInfo {
  /** Burrow's id for the process (`proc_...`), stable for its lifetime. */
  id: string;
  /** Its pid inside the sandbox. */
  pid: number;
  tag?: string;
  cmd: string[];
  /** Runs on a terminal. */
  pty: boolean;
  /** Its stdin is open for input. */
  stdin: boolean;
  startedAt: Date;
  running: boolean;
  /** Once exited: the exit code (`128 + n` after signal n, 124 after its timeout). */
  exitCode?: number;
  endedAt?: Date;
  timedOut: boolean;
  /** Bytes that fell out of the server's replay buffer, per stream. */
  outputDropped: { stdout: number; stderr: number };
}

/** One event of an attached process. */
export type ProcessEvent =
  | { type: 'stdout'; data: string }
  | { type: 'stderr'; data: string }
  /** Output of a process on a terminal, as raw bytes (escape sequences and all). */
  | { type: 'pty'; data: Uint8Array }
  /** `bytes` of `stream` were lost to this reader (the buffer overflowed before it read them). */
  | { type: 'dropped'; stream: 'stdout' | 'stderr'; bytes: number }
  | { type: 'exit'; exitCode: number; timedOut: boolean };

/** What a process's replay buffer holds (`sandbox.processes.output()`). */
export interface ProcessOutput {
  process: ProcessInfo;
  stdout: string;
  stderr: string;
  /** Earlier output is missing: it fell out of the buffer, or `maxBytes` kept only the end. */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
}

export type WatchEventKind = 'create' | 'write' | 'remove' | 'rename' | 'chmod';

/** A change under a watched directory, or word that some were lost. */
export type WatchEvent =
  /** `path` is as the sandbox sees it; `rename` names the old path (the new one comes as `create`). */
  | { type: 'event'; kind: WatchEventKind; path: string; isDir: boolean; pathBytes?: Uint8Array }
  /** Events were lost (a queue overflowed): re-read what matters. */
  | { type: 'overflow' };
