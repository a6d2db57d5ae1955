/**
 * The SandboxStore (with the key store and audit log) in one SQLite file (better-sqlite3, WAL). Writes are synchronous and transactional, so a
 * request that could not be recorded fails instead of being forgotten.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { BurrowError } from '@burrow/protocol';
import type { SandboxConfig, SandboxStatus } from '../../runtime/runtime.js';
import type { SandboxRecord, SandboxStore, SnapshotRecord, SyncRecord } from '../store.js';
import { migrate } from './schema.js';
import { SqliteAuditStore } from './sqlite-audit.js';
import { SqliteKeyStore } from './sqlite-keys.js';

interface SandboxRow {
  id: string;
  image: string;
  status: string;
  config: string;
  created_at: number;
  expires_at: number | null;
  error: string | null;
  last_activity_at: number | null;
  paused_at: number | null;
  tenant: string;
  key_id: string;
  key_name: string;
}

interface SnapshotRow {
  id: string;
  sandbox_id: string;
  name: string;
  image_id: string;
  created_at: number;
  size: number;
  tenant: string;
}

interface SyncRow {
  sandbox_id: string;
  direction: string;
  started_at: number;
  report: string;
  tenant: string;
}

function toSandbox(row: SandboxRow): SandboxRecord {
  const record: SandboxRecord = {
    id: row.id,
    image: row.image,
    status: row.status as SandboxStatus,
    config: JSON.parse(row.config) as SandboxConfig,
    createdAt: new Date(row.created_at),
  };
  if (row.expires_at !== null) record.expiresAt = new Date(row.expires_at);
  if (row.error !== null) record.error = row.error;
  if (row.last_activity_at !== null) record.lastActivityAt = new Date(row.last_activity_at);
  if (row.paused_at !== null) record.pausedAt = new Date(row.paused_at);
  if (row.tenant !== '' || row.key_id !== '')
    record.owner = { tenant: row.tenant, keyId: row.key_id, keyName: row.key_name };
  return record;
}

function sandboxParams(record: SandboxRecord) {
  return {
    id: record.id,
    image: record.image,
    status: record.status,
    config: JSON.stringify(record.config),
    created_at: record.createdAt.getTime(),
    expires_at: record.expiresAt?.getTime() ?? null,
    error: record.error ?? null,
    last_activity_at: record.lastActivityAt?.getTime() ?? null,
    paused_at: record.pausedAt?.getTime() ?? null,
    tenant: record.owner?.tenant ?? '',
    key_id: record.owner?.keyId ?? '',
    key_name: record.owner?.keyName ?? '',
  };
}

function toSnapshot(row: SnapshotRow): SnapshotRecord {
  return {
    id: row.id,
    sandboxId: row.sandbox_id,
    name: row.name,
    imageId: row.image_id,
    createdAt: new Date(row.created_at),
    size: row.size,
    ...(row.tenant === '' ? {} : { tenant: row.tenant }),
  };
}

export class SqliteStore implements SandboxStore {
  private readonly db: Database.Database;
  /** API keys and the audit log live in the same file (one transaction log, one backup). */
  readonly keys: SqliteKeyStore;
  readonly audit: SqliteAuditStore;

  /** Opens (creating when missing) the store at `path`; `:memory:` for tests. */
  constructor(path: string) {
    const isFile = path !== ':memory:';
    if (isFile) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const existed = isFile && existsSync(path);
    try {
      this.db = new Database(path, { timeout: 5000 });
    } catch (error) {
      throw new BurrowError(
        'INTERNAL',
        `cannot open the state database ${path}: ${(error as Error).message}`,
      );
    }
    if (isFile && !existed) chmodSync(path, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    migrate(this.db);
    this.keys = new SqliteKeyStore(this.db);
    this.audit = new SqliteAuditStore(this.db);
  }

  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  insertSandbox(record: SandboxRecord): void {
    try {
      this.db
        .prepare(
          `INSERT INTO sandboxes (id, image, status, config, created_at, expires_at, error, last_activity_at,
             paused_at, tenant, key_id, key_name)
           VALUES (@id, @image, @status, @config, @created_at, @expires_at, @error, @last_activity_at, @paused_at,
             @tenant, @key_id, @key_name)`,
        )
        .run(sandboxParams(record));
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new BurrowError('ALREADY_EXISTS', `sandbox ${record.id} already exists`);
      }
      throw error;
    }
  }

  updateSandbox(record: SandboxRecord): void {
    const result = this.db
      .prepare(
        `UPDATE sandboxes SET image = @image, status = @status, config = @config, created_at = @created_at,
           expires_at = @expires_at, error = @error, last_activity_at = @last_activity_at, paused_at = @paused_at,
           tenant = @tenant, key_id = @key_id, key_name = @key_name
         WHERE id = @id`,
      )
      .run(sandboxParams(record));
    if (result.changes === 0) throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
  }

  getSandbox(id: string): SandboxRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sandboxes WHERE id = ?').get(id) as SandboxRow | undefined;
    return row === undefined ? undefined : toSandbox(row);
  }

  listSandboxes(): SandboxRecord[] {
    return (this.db.prepare('SELECT * FROM sandboxes ORDER BY id').all() as SandboxRow[]).map(toSandbox);
  }

  deleteSandbox(id: string): void {
    this.db.prepare('DELETE FROM sandboxes WHERE id = ?').run(id);
  }

  insertSnapshot(record: SnapshotRecord): void {
    this.db
      .prepare(
        `INSERT INTO snapshots (id, sandbox_id, name, image_id, created_at, size, tenant)
         VALUES (@id, @sandbox_id, @name, @image_id, @created_at, @size, @tenant)`,
      )
      .run({
        id: record.id,
        sandbox_id: record.sandboxId,
        name: record.name,
        image_id: record.imageId,
        created_at: record.createdAt.getTime(),
        size: record.size,
        tenant: record.tenant ?? '',
      });
  }

  getSnapshot(id: string): SnapshotRecord | undefined {
    const row = this.db.prepare('SELECT * FROM snapshots WHERE id = ?').get(id) as SnapshotRow | undefined;
    return row === undefined ? undefined : toSnapshot(row);
  }

  listSnapshots(sandboxId?: string): SnapshotRecord[] {
    const rows =
      sandboxId === undefined
        ? this.db.prepare('SELECT * FROM snapshots ORDER BY created_at, id').all()
        : this.db
            .prepare('SELECT * FROM snapshots WHERE sandbox_id = ? ORDER BY created_at, id')
            .all(sandboxId);
    return (rows as SnapshotRow[]).map(toSnapshot);
  }

  deleteSnapshot(id: string): void {
    this.db.prepare('DELETE FROM snapshots WHERE id = ?').run(id);
  }

  setSandboxSecret(sandboxId: string, name: string, value: string): void {
    try {
      this.db
        .prepare(
          `INSERT INTO sandbox_secrets (sandbox_id, name, value) VALUES (?, ?, ?)
           ON CONFLICT (sandbox_id, name) DO UPDATE SET value = excluded.value`,
        )
        .run(sandboxId, name, value);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') {
        throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
      }
      throw error;
    }
  }

  getSandboxSecret(sandboxId: string, name: string): string | undefined {
    const row = this.db
      .prepare('SELECT value FROM sandbox_secrets WHERE sandbox_id = ? AND name = ?')
      .get(sandboxId, name) as { value: string } | undefined;
    return row?.value;
  }

  addSync(record: SyncRecord): void {
    this.db
      // The tenant comes from the sandbox (when it is still recorded), so the report keeps its owner after it.
      .prepare(
        `INSERT INTO syncs (sandbox_id, direction, started_at, report, tenant)
         VALUES (?, ?, ?, ?, COALESCE(?, (SELECT tenant FROM sandboxes WHERE id = ?), ''))`,
      )
      .run(
        record.sandboxId,
        record.direction,
        record.startedAt.getTime(),
        JSON.stringify(record.report),
        record.tenant ?? null,
        record.sandboxId,
      );
  }

  listSyncs(sandboxId: string): SyncRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM syncs WHERE sandbox_id = ? ORDER BY started_at, rowid')
      .all(sandboxId) as SyncRow[];
    return rows.map((row) => ({
      sandboxId: row.sandbox_id,
      direction: row.direction as SyncRecord['direction'],
      startedAt: new Date(row.started_at),
      report: JSON.parse(row.report) as unknown,
      ...(row.tenant === '' ? {} : { tenant: row.tenant }),
    }));
  }

  close(): void {
    this.db.close();
  }
}
