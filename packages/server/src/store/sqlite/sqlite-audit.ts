/** The audit log in the state database (`audit`): who did what to which sandbox, when, from where. */
import type Database from 'better-sqlite3';
import type { AuditFilter, AuditRecord, AuditStore } from '../store.js';

interface AuditRow {
  id: number;
  at: number;
  key_id: string;
  key_name: string;
  tenant: string;
  action: string;
  sandbox_id: string | null;
  detail: string | null;
  outcome: string;
  address: string | null;
}

function toAudit(row: AuditRow): AuditRecord {
  const record: AuditRecord = {
    id: row.id,
    at: new Date(row.at),
    keyId: row.key_id,
    keyName: row.key_name,
    tenant: row.tenant,
    action: row.action,
    outcome: row.outcome,
  };
  if (row.sandbox_id !== null) record.sandboxId = row.sandbox_id;
  if (row.detail !== null) record.detail = JSON.parse(row.detail) as Record<string, unknown>;
  if (row.address !== null) record.address = row.address;
  return record;
}

export class SqliteAuditStore implements AuditStore {
  constructor(private readonly db: Database.Database) {}

  addAudit(record: AuditRecord): void {
    this.db
      .prepare(
        `INSERT INTO audit (at, key_id, key_name, tenant, action, sandbox_id, detail, outcome, address)
         VALUES (@at, @key_id, @key_name, @tenant, @action, @sandbox_id, @detail, @outcome, @address)`,
      )
      .run({
        at: record.at.getTime(),
        key_id: record.keyId,
        key_name: record.keyName,
        tenant: record.tenant,
        action: record.action,
        sandbox_id: record.sandboxId ?? null,
        detail: record.detail === undefined ? null : JSON.stringify(record.detail),
        outcome: record.outcome,
        address: record.address ?? null,
      });
  }

  listAudit(filter: AuditFilter): AuditRecord[] {
    const where: string[] = [];
    const params: Record<string, string | number> = { limit: filter.limit };
    if (filter.sandboxId !== undefined) {
      where.push('sandbox_id = @sandbox_id');
      params.sandbox_id = filter.sandboxId;
    }
    if (filter.keyName !== undefined) {
      where.push('key_name = @key_name');
      params.key_name = filter.keyName;
    }
    if (filter.tenant !== undefined) {
      where.push('tenant = @tenant');
      params.tenant = filter.tenant;
    }
    if (filter.action !== undefined) {
      where.push('action = @action');
      params.action = filter.action;
    }
    if (filter.since !== undefined) {
      where.push('at >= @since');
      params.since = filter.since.getTime();
    }
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const rows = this.db
      .prepare(`SELECT * FROM audit ${clause} ORDER BY at DESC, id DESC LIMIT @limit`)
      .all(params) as AuditRow[];
    return rows.map(toAudit);
  }

  pruneAudit(before: Date): number {
    return this.db.prepare('DELETE FROM audit WHERE at < ?').run(before.getTime()).changes;
  }
}
