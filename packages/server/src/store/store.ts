/** State that survives restarts: the sandboxes Burrow owns and their snapshots. */
import type { SandboxConfig, SandboxStatus } from '../runtime/runtime.js';

export interface SandboxRecord {
  id: string;
  image: string;
  status: SandboxStatus;
  /** The full configuration, secrets included (the store file is private to the server). */
  config: SandboxConfig;
  createdAt: Date;
  /** When the reaper destroys it; undefined = never. */
  expiresAt?: Date;
  /** Why the sandbox is in `error`, when known. */
  error?: string;
  /** Last use through the API (exec, files, attach, proxy traffic); undefined = never used since creation. */
  lastActivityAt?: Date;
  /** When it was paused, while it is. */
  pausedAt?: Date;
}

export interface SnapshotRecord {
  id: string;
  sandboxId: string;
  name: string;
  imageId: string;
  createdAt: Date;
  size: number;
}

/** One S3 synchronisation run of a sandbox in `hooks` mode. */
export interface SyncRecord {
  sandboxId: string;
  direction: 'download' | 'upload';
  startedAt: Date;
  /** The run's report as JSON-compatible data. */
  report: unknown;
}

export interface SandboxStore {
  /** Runs `work` atomically: every write inside succeeds or none does. */
  transaction<T>(work: () => T): T;

  insertSandbox(record: SandboxRecord): void;
  /** Replaces a stored sandbox; fails with SANDBOX_NOT_FOUND when it is not stored. */
  updateSandbox(record: SandboxRecord): void;
  getSandbox(id: string): SandboxRecord | undefined;
  listSandboxes(): SandboxRecord[];
  deleteSandbox(id: string): void;

  insertSnapshot(record: SnapshotRecord): void;
  getSnapshot(id: string): SnapshotRecord | undefined;
  listSnapshots(sandboxId?: string): SnapshotRecord[];
  deleteSnapshot(id: string): void;

  /**
   * Secrets the server keeps for a sandbox and never hands out (its preview-token key, its egress CA's private key).
   * Setting one for a sandbox that is not stored fails; they are deleted with the sandbox.
   */
  setSandboxSecret(sandboxId: string, name: string, value: string): void;
  getSandboxSecret(sandboxId: string, name: string): string | undefined;

  addSync(record: SyncRecord): void;
  listSyncs(sandboxId: string): SyncRecord[];

  close(): void;
}
