import type Database from 'better-sqlite3';

/** Schema versions, applied in order; `user_version` records how far a file has come. */
const MIGRATIONS: string[] = [
  `CREATE TABLE sandboxes (
     id TEXT PRIMARY KEY,
     image TEXT NOT NULL,
     status TEXT NOT NULL,
     config TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER,
     error TEXT
   );
   CREATE TABLE snapshots (
     id TEXT PRIMARY KEY,
     sandbox_id TEXT NOT NULL,
     name TEXT NOT NULL,
     image_id TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     size INTEGER NOT NULL
   );
   CREATE INDEX snapshots_by_sandbox ON snapshots (sandbox_id);
   CREATE TABLE syncs (
     sandbox_id TEXT NOT NULL,
     direction TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     report TEXT NOT NULL
   );
   CREATE INDEX syncs_by_sandbox ON syncs (sandbox_id);`,
  // Activity-aware lifetimes and pause.
  `ALTER TABLE sandboxes ADD COLUMN last_activity_at INTEGER;
   ALTER TABLE sandboxes ADD COLUMN paused_at INTEGER;`,
  // Server-held secrets of a sandbox (preview-token key, egress CA key).
  `CREATE TABLE sandbox_secrets (
     sandbox_id TEXT NOT NULL REFERENCES sandboxes (id) ON DELETE CASCADE,
     name TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (sandbox_id, name)
   );`,
  // Tenancy: owners of sandboxes, snapshots and S3 reports ('' = none: admin keys only), stored API keys (a digest,
  // never the key) and the audit log.
  `ALTER TABLE sandboxes ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
   ALTER TABLE sandboxes ADD COLUMN key_id TEXT NOT NULL DEFAULT '';
   ALTER TABLE sandboxes ADD COLUMN key_name TEXT NOT NULL DEFAULT '';
   ALTER TABLE snapshots ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
   ALTER TABLE syncs ADD COLUMN tenant TEXT NOT NULL DEFAULT '';
   CREATE TABLE api_keys (
     id TEXT PRIMARY KEY,
     name TEXT NOT NULL,
     tenant TEXT NOT NULL,
     admin INTEGER NOT NULL,
     hash TEXT NOT NULL UNIQUE,
     prefix TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     expires_at INTEGER,
     last_used_at INTEGER,
     revoked_at INTEGER
   );
   CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL;
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     at INTEGER NOT NULL,
     key_id TEXT NOT NULL,
     key_name TEXT NOT NULL,
     tenant TEXT NOT NULL,
     action TEXT NOT NULL,
     sandbox_id TEXT,
     detail TEXT,
     outcome TEXT NOT NULL,
     address TEXT
   );
   CREATE INDEX audit_by_time ON audit (at);
   CREATE INDEX audit_by_sandbox ON audit (sandbox_id, at);`,
];

export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the state database was written by a newer Burrow (schema ${current}, this one knows ${MIGRATIONS.length}); upgrade Burrow`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version += 1) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] ?? '');
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
