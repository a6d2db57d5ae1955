/**
 * Everything both entry points export (`index.ts` for Node, `browser.ts` for browsers), except the two client
 * classes, which each entry binds to its platform.
 */
export { DEFAULT_URL, resolveOptions, type BurrowOptions } from './burrow.js';
export { Sandbox } from './sandbox.js';
export { Commands, MAX_EXEC_TIMEOUT_SECONDS, type RunCommandOptions } from './commands.js';
export { CommandStream, type CommandStdin, type StreamCommandOptions } from './command-stream.js';
export {
  Files,
  type DirectoryListing,
  type FileCallOptions,
  type TransferOptions,
  type WriteResult,
} from './files.js';
export { FileWatch, MAX_PENDING_WATCH_EVENTS, type WatchOptions } from './file-watch.js';
export { Processes, type WaitOptions } from './processes.js';
export { ProcessAttachment, type AttachOptions, type ProcessExit } from './process-attachment.js';
export type { StartProcessOptions } from './process-convert.js';
export { DEFAULT_SHELL, Pty, PtySession, type ConnectPtyOptions, type CreatePtyOptions } from './pty.js';
export type { WriteData } from './body.js';
export { SandboxSnapshots, SnapshotOperations } from './snapshots.js';
export { SandboxNetwork, type PreviewOptions } from './network.js';
export { sandboxToWire } from './convert.js';
export {
  AuthenticationError,
  BurrowError,
  ConflictError,
  FileNotFoundError,
  NotFoundError,
  PermissionDeniedError,
  ProcessNotFoundError,
  RateLimitError,
  SandboxNotFoundError,
  SandboxNotRunningError,
  ServerError,
  SnapshotNotFoundError,
  ValidationError,
  errorFromBody,
  errorFromCode,
  parseRetryAfter,
  statusForCode,
  type ErrorDetails,
  type ErrorInput,
} from './errors.js';
export { AbortedError, BurrowClientError, ConnectionError, TimeoutError } from './client-errors.js';
export type {
  CommandEvent,
  CommandResult,
  CreateSandboxOptions,
  EgressPolicy,
  EgressSecret,
  EgressState,
  FileInfo,
  HealthInfo,
  IsolationRuntime,
  NetworkMode,
  PortMapping,
  ProcessEvent,
  ProcessInfo,
  ProcessOutput,
  PreviewInfo,
  ProgressCallback,
  PtySize,
  S3SyncConfig,
  SandboxInfo,
  SandboxStats,
  SandboxStatus,
  SnapshotInfo,
  StorageConfig,
  TmpfsMount,
  VersionInfo,
  VolumeMount,
  WatchEvent,
  WatchEventKind,
} from './types.js';
export { DenError, DenSandbox, DenSandboxManager } from './den/den.js';
export type { Platform } from './platform.js';
export type {
  PressureLevel,
  Resources,
  SystemStats,
  TenantFigures,
  TenantUsage,
  WarmPoolInfo,
} from './system.js';
export type * as DenTypes from './den/types.js';
