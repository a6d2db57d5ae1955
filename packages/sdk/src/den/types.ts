/**
 * Den's TypeScript SDK types, key for key (snake_case, as on the wire), so code written against `@us4/den`
 * compiles unchanged. Burrow's optional additions are marked.
 */
import type { NetworkMode } from '../types.js';

/** A named volume to mount into a sandbox. */
export interface VolumeMount {
  name: string;
  mount_path: string;
  read_only?: boolean;
}

/** A tmpfs mount inside a sandbox; `size` like `256m`. */
export interface TmpfsMount {
  path: string;
  size: string;
  options?: string;
}

/** S3 synchronisation mode. */
export type S3SyncMode = 'hooks' | 'fuse' | 'on_demand';

/** S3 synchronisation of a sandbox folder. */
export interface S3SyncConfig {
  endpoint?: string;
  bucket: string;
  prefix?: string;
  region?: string;
  access_key?: string;
  secret_key?: string;
  mode: S3SyncMode;
  mount_path?: string;
  sync_path?: string;
}

/** Volumes, tmpfs and S3 of a new sandbox. */
export interface StorageConfig {
  volumes?: VolumeMount[];
  tmpfs?: TmpfsMount[];
  s3?: S3SyncConfig;
}

/** A host port mapping. */
export interface PortMapping {
  sandbox_port: number;
  host_port: number;
  protocol?: string;
}

/** The body of `POST /api/v1/sandboxes`. */
export interface SandboxConfig {
  /** Image; the server default when empty (Den's type requires it; Burrow's does not). */
  image?: string;
  env?: Record<string, string>;
  workdir?: string;
  /** Lifetime in seconds. */
  timeout?: number;
  /** NanoCPUs (1e9 = one core). */
  cpu?: number;
  /** Bytes. */
  memory?: number;
  ports?: PortMapping[];
  storage?: StorageConfig;
  writable_rootfs?: boolean;
  /** `"none"` (Den); Burrow also accepts `"internal"` and `"bridge"` within the server's policy. */
  network_mode?: '' | NetworkMode;
  /** Burrow: caller labels. */
  labels?: Record<string, string>;
}

/** Options of `Sandbox.exec`. */
export interface ExecOptions {
  env?: Record<string, string>;
  workdir?: string;
  /** Seconds. */
  timeout?: number;
}

/** Lifecycle state of a sandbox (`paused` is Burrow's: a sandbox paused through Burrow's API or idle policy). */
export type SandboxStatus = 'creating' | 'running' | 'paused' | 'stopped' | 'error';

/** A sandbox as the API returns it. */
export interface SandboxInfo {
  id: string;
  image: string;
  status: SandboxStatus;
  created_at: string;
  expires_at?: string;
  ports?: PortMapping[];
  ip?: string;
}

/** The result of `Sandbox.exec`. */
export interface ExecResult {
  exit_code: number;
  stdout: string;
  stderr: string;
  /** Burrow: true when the command was killed at its timeout. */
  timed_out?: boolean;
}

/** A message of the exec WebSocket stream. */
export interface ExecStreamMessage {
  type: 'stdout' | 'stderr' | 'exit';
  data: string;
}

/** A directory entry. */
export interface FileInfo {
  name: string;
  path: string;
  size: number;
  mode: string;
  mod_time: string;
  is_dir: boolean;
}

/** A snapshot. */
export interface SnapshotInfo {
  id: string;
  sandbox_id: string;
  name: string;
  image_id: string;
  created_at: string;
  size: number;
}

/** Resource usage of a sandbox. */
export interface SandboxStats {
  cpu_percent: number;
  memory_usage: number;
  memory_limit: number;
  memory_percent: number;
  network_rx: number;
  network_tx: number;
  disk_read: number;
  disk_write: number;
  pid_count: number;
  timestamp: string;
}

/** Options of `new Den()`. */
export interface ClientConfig {
  url: string;
  apiKey?: string;
}

/** Body of `POST .../files/s3-import`. */
export interface S3ImportRequest {
  bucket: string;
  key: string;
  dest_path: string;
  endpoint?: string;
  access_key?: string;
  secret_key?: string;
  region?: string;
}

/** Reply of `POST .../files/s3-import`. */
export interface S3ImportResponse {
  success: boolean;
  bytes_downloaded: number;
  path: string;
}

/** Body of `POST .../files/s3-export`. */
export interface S3ExportRequest {
  source_path: string;
  bucket: string;
  key: string;
  endpoint?: string;
  access_key?: string;
  secret_key?: string;
  region?: string;
}

/** Reply of `POST .../files/s3-export`. */
export interface S3ExportResponse {
  success: boolean;
  bytes_uploaded: number;
  s3_key: string;
}
