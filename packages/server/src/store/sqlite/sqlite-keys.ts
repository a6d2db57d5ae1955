/** Stored API keys in the state database (`api_keys`): digests, names, tenants and their lifetimes. */
import type Database from 'better-sqlite3';
import { BurrowError } from '@burrow/protocol';
import type { KeyRecord, KeyStore } from '../store.js';

interface KeyRow {
  id: string;
  name: string;
  tenant: string;
  admin: number;
  hash: string;
  prefix: string;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

function toKey(row: KeyRow): KeyRecord {
  const record: KeyRecord = {
    id: row.id,
    name: row.name,
    tenant: row.tenant,
    admin: row.admin === 1,
    hash: row.hash,
    prefix: row.prefix,
    createdAt: new Date(row.created_at),
    createdBy: row.created_by,
  };
  if (row.expires_at !== null) record.expiresAt = new Date(row.expires_at);
  if (row.last_used_at !== null) record.lastUsedAt = new Date(row.last_used_at);
  if (row.revoked_at !== null) record.revokedAt = new Date(row.revoked_at);
  return record;
}

export class SqliteKeyStore implements KeyStore {
  constructor(private readonly db: Database.Database) {}

  insertKey(record: KeyRecord): void {
    try {
      this.db
        .prepare(
          `INSERT INTO api_keys (id, name, tenant, admin, hash, prefix, created_at, created_by, expires_at)
           VALUES (@id, @name, @tenant, @admin, @hash, @prefix, @created_at, @created_by, @expires_at)`,
        )
        .run({
          id: record.id,
          name: record.name,
          tenant: record.tenant,
          admin: record.admin ? 1 : 0,
          hash: record.hash,
          prefix: record.prefix,
          created_at: record.createdAt.getTime(),
          created_by: record.createdBy,
          expires_at: record.expiresAt?.getTime() ?? null,
        });
    } catch (error) {
      if (String((error as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) {
        throw new BurrowError(
          'ALREADY_EXISTS',
          `a key named "${record.name}" already exists: pick another name or revoke that key first`,
          { name: record.name },
        );
      }
      throw error;
    }
  }

  keyByHash(hash: string): KeyRecord | undefined {
    const row = this.db.prepare('SELECT * FROM api_keys WHERE hash = ?').get(hash) as KeyRow | undefined;
    return row === undefined ? undefined : toKey(row);
  }

  listKeys(): KeyRecord[] {
    return (this.db.prepare('SELECT * FROM api_keys ORDER BY created_at, id').all() as KeyRow[]).map(toKey);
  }

  revokeKey(id: string, at: Date): boolean {
    const result = this.db
      .prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
      .run(at.getTime(), id);
    return result.changes > 0;
  }

  touchKeys(lastUse: Map<string, Date>): void {
    const update = this.db.prepare(
      'UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?',
    );
    this.db.transaction(() => {
      for (const [id, at] of lastUse) update.run(at.getTime(), id);
    })();
  }

  externalChanges(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }
}
