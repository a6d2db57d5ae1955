/**
 * How DockerRuntime reaches inside a running sandbox: exec, files and tmpfs archives. One implementation per path
 * (the agent, over its channel or through `docker exec`; the Engine API without the agent), so DockerRuntime keeps
 * lifecycle, snapshots and stats and every in-sandbox operation lands once per path instead of as a branch.
 */
import type { Duplex } from 'node:stream';
import type { ProcessHandle } from '../../exec-support.js';
import type {
  AttachOptions,
  SandboxConfig,
  DirListing,
  ExecOptions,
  FileData,
  FileInfo,
  FileRead,
  ProcessAttachment,
  ProcessInfo,
  ProcessInputOptions,
  ProcessStartOptions,
  PtySize,
  WatchOptions,
  WatchStream,
} from '../../runtime.js';
import type { ArchiveFormat, TmpfsArchiver } from '../snapshots.js';
import type { AgentTransport } from '../transport.js';

/** What a container needs so that this path works in it; absent on the Engine API path. */
export interface AgentMounts {
  /** Host path of the agent binary, bound read-only. */
  binaryPath: string;
  /**
   * Host directory bound read-only at AGENT_CHANNEL_DIR, holding only the server's listening socket for this
   * sandbox; absent when the agent is reached through `docker exec` only.
   */
  channelDir?: string;
  /** A proxy-only sandbox: the agent listens on this loopback port and relays to the egress socket. */
  egressPort?: number;
}

export interface SandboxAccess {
  readonly transport: AgentTransport;
  readonly archiveFormat: ArchiveFormat;
  /** Host-side preparation before the container is created; returns the agent's mounts, if this path has any. */
  prepare(id: string, config: SandboxConfig): Promise<AgentMounts | undefined>;
  /** Once the container exists (not started): refuses an image this path cannot serve. */
  checkCreated(id: string, image: string): Promise<void>;
  /**
   * Once the container started: resolves when the sandbox answers. `stoppedEarly` says why a sandbox whose main
   * process exited at once cannot answer (it throws), so a bad command fails fast instead of at the deadline.
   */
  ready(id: string, stoppedEarly: () => Promise<void>): Promise<void>;
  /** After the container was removed: releases host-side state. */
  release(id: string): Promise<void>;

  exec(id: string, options: ExecOptions): Promise<ProcessHandle>;
  readFile(id: string, path: Buffer): Promise<FileRead>;
  writeFile(id: string, path: Buffer, mode: number, data: FileData): Promise<{ bytes: number }>;
  /** At most `maxEntries` entries. */
  listDir(id: string, path: Buffer, maxEntries: number): Promise<DirListing>;
  stat(id: string, path: Buffer): Promise<FileInfo>;
  mkdir(id: string, path: Buffer): Promise<void>;
  remove(id: string, path: Buffer): Promise<void>;
  /** Reads and refills tmpfs contents for snapshots, as root. */
  archiver(id: string): TmpfsArchiver;

  /** Background processes, terminals' sizes and watches (see Runtime); NOT_SUPPORTED where a path cannot. */
  startProcess(id: string, options: ProcessStartOptions): Promise<ProcessInfo>;
  listProcesses(id: string): Promise<ProcessInfo[]>;
  getProcess(id: string, processId: string): Promise<ProcessInfo>;
  attachProcess(id: string, processId: string, options: AttachOptions): Promise<ProcessAttachment>;
  waitProcess(id: string, processId: string, timeoutMs: number, signal?: AbortSignal): Promise<ProcessInfo>;
  sendProcessInput(
    id: string,
    processId: string,
    data: Uint8Array,
    options: ProcessInputOptions,
  ): Promise<void>;
  signalProcess(id: string, processId: string, signal: string): Promise<void>;
  killProcess(id: string, processId: string): Promise<void>;
  resizeProcess(id: string, processId: string, size: PtySize): Promise<void>;
  watch(id: string, path: Buffer, options: WatchOptions): Promise<WatchStream>;
  /** A TCP connection from inside the sandbox to `host:port`. */
  connectPort(id: string, port: number, host: string): Promise<Duplex>;
}
