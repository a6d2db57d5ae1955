/** State that survives restarts: the sandboxes Burrow owns and their snapshots. */
import type { SandboxConfig, SandboxStatus } from '../runtime/runtime.js';

/** Who a sandbox belongs to: its tenant ('' = no tenant: only admin keys see it) and the key that created it. */
export interface SandboxOwner {
  tenant: string;
  keyId: string;
  keyName: string;
}

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
  /** Undefined for sandboxes made before tenancy (or by the server itself): tenant '', admin keys only. */
  owner?: SandboxOwner;
}

export interface SnapshotRecord {
  id: string;
  sandboxId: string;
  name: string;
  imageId: string;
  createdAt: Date;
  size: number;
  /** The tenant of the sandbox it was taken from ('' = none), kept when that sandbox is gone. */
  tenant?: string;
}

/** One S3 synchronisation run of a sandbox in `hooks` mode. */
export interface SyncRecord {
  sandboxId: string;
  direction: 'download' | 'upload';
  startedAt: Date;
  /** The run's report as JSON-compatible data. */
  report: unknown;
  /** The tenant of its sandbox when it was recorded (filled in by the store); the report outlives the sandbox. */
  tenant?: string;
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

// ---------------------------------------------------------------- a server shared by several users: keys, audit

/** A stored API key: never the key itself, only its SHA-256 digest. */
export interface KeyRecord {
  id: string;
  name: string;
  tenant: string;
  admin: boolean;
  /** Hex SHA-256 of the key. */
  hash: string;
  /** The key's first characters, to recognise it in a listing. */
  prefix: string;
  createdAt: Date;
  createdBy: string;
  expiresAt?: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
}

export interface KeyStore {
  /** Fails with ALREADY_EXISTS when a key not revoked has the same name. */
  insertKey(record: KeyRecord): void;
  keyByHash(hash: string): KeyRecord | undefined;
  /** Every key, revoked ones included, oldest first. */
  listKeys(): KeyRecord[];
  /** Marks a key revoked; false when it is unknown or was already revoked. */
  revokeKey(id: string, at: Date): boolean;
  /** Records last-use times (batched by the caller). */
  touchKeys(lastUse: Map<string, Date>): void;
  /**
   * A number that changes whenever another process (the `burrow keys` command) changed the file: a cache of keys
   * stays valid while it does not change.
   */
  externalChanges(): number;
}

export interface AuditRecord {
  id?: number;
  at: Date;
  keyId: string;
  keyName: string;
  tenant: string;
  action: string;
  sandboxId?: string;
  /** What was done, as JSON-compatible data: never secrets or file contents. */
  detail?: Record<string, unknown>;
  /** 'ok' or an error code. */
  outcome: string;
  address?: string;
}

export interface AuditFilter {
  sandboxId?: string;
  keyName?: string;
  tenant?: string;
  action?: string;
  since?: Date;
  /** Most entries returned, newest first. */
  limit: number;
}

export interface AuditStore {
  addAudit(record: AuditRecord): void;
  /** Newest first. */
  listAudit(filter: AuditFilter): AuditRecord[];
  /** Deletes entries older than `before`; returns how many. */
  pruneAudit(before: Date): number;
}
