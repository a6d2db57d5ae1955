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
