/** The state of a shared server in SQLite: owners, stored keys (digests only), the audit log, and the migration. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { KeyRecord, SandboxRecord } from '../store.js';
import { SqliteStore } from './sqlite-store.js';

const dirs: string[] = [];

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-store-'));
  dirs.push(dir);
  return join(dir, 'burrow.db');
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function sandbox(id: string, extra: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    id,
    image: 'busybox',
    status: 'running',
    config: { image: 'busybox' },
    createdAt: new Date(1000),
    ...extra,
  };
}

function key(id: string, extra: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id,
    name: id,
    tenant: 'team',
    admin: false,
    hash: `hash-${id}`,
    prefix: 'bk_abcdefghi',
    createdAt: new Date(1000),
    createdBy: 'cli:root',
    ...extra,
  };
}

describe('owners', () => {
  it('keeps the owner of sandboxes, snapshots and S3 reports (which outlive their sandbox)', () => {
    const store = new SqliteStore(':memory:');
    const owner = { tenant: 'alpha', keyId: 'key_1', keyName: 'alice' };
    store.insertSandbox(sandbox('a', { owner }));
    store.insertSandbox(sandbox('b'));
    expect(store.getSandbox('a')?.owner).toEqual(owner);
    expect(store.getSandbox('b')?.owner).toBeUndefined();
    store.updateSandbox({ ...sandbox('b'), owner: { tenant: 'beta', keyId: 'k', keyName: 'bob' } });
    expect(store.getSandbox('b')?.owner?.tenant).toBe('beta');

    store.insertSnapshot({
      id: 'snap',
      sandboxId: 'a',
      name: 'n',
      imageId: 'i',
      createdAt: new Date(1),
      size: 1,
      tenant: 'alpha',
    });
    store.addSync({ sandboxId: 'a', direction: 'upload', startedAt: new Date(1), report: {} });
    store.deleteSandbox('a');
    expect(store.getSnapshot('snap')?.tenant).toBe('alpha');
    expect(store.listSyncs('a')[0]?.tenant).toBe('alpha');
  });

  it('migrates a file from before tenancy: its sandboxes belong to no tenant', () => {
    const path = tempPath();
    const old = new Database(path);
    old.exec(`CREATE TABLE sandboxes (id TEXT PRIMARY KEY, image TEXT NOT NULL, status TEXT NOT NULL,
                config TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER, error TEXT);
              CREATE TABLE snapshots (id TEXT PRIMARY KEY, sandbox_id TEXT NOT NULL, name TEXT NOT NULL,
                image_id TEXT NOT NULL, created_at INTEGER NOT NULL, size INTEGER NOT NULL);
              CREATE TABLE syncs (sandbox_id TEXT NOT NULL, direction TEXT NOT NULL, started_at INTEGER NOT NULL,
                report TEXT NOT NULL);
              INSERT INTO sandboxes VALUES ('old', 'busybox', 'running', '{"image":"busybox"}', 1, NULL, NULL);
              PRAGMA user_version = 1;`);
    old.close();
    const store = new SqliteStore(path);
    expect(store.getSandbox('old')).toMatchObject({ id: 'old', status: 'running' });
    expect(store.getSandbox('old')?.owner).toBeUndefined();
    expect(store.keys.listKeys()).toEqual([]);
    store.close();
  });
});

describe('stored keys', () => {
  it('finds a key by its digest, keeps names unique among keys not revoked, and revokes once', () => {
    const store = new SqliteStore(':memory:');
    store.keys.insertKey(key('k1', { name: 'alice', expiresAt: new Date(5000) }));
    expect(store.keys.keyByHash('hash-k1')).toEqual(key('k1', { name: 'alice', expiresAt: new Date(5000) }));
    expect(store.keys.keyByHash('hash-unknown')).toBeUndefined();
    expect(() => store.keys.insertKey(key('k2', { name: 'alice' }))).toThrow(
      expect.objectContaining({ code: 'ALREADY_EXISTS' }) as Error,
    );
    expect(store.keys.revokeKey('k1', new Date(2000))).toBe(true);
    expect(store.keys.revokeKey('k1', new Date(3000))).toBe(false);
    expect(store.keys.keyByHash('hash-k1')?.revokedAt).toEqual(new Date(2000));
    // The name is free again once its key is revoked (rotation).
    store.keys.insertKey(key('k2', { name: 'alice' }));
    expect(store.keys.listKeys().map((entry) => entry.id)).toEqual(['k1', 'k2']);
  });

  it('records last use in batches, never moving it backwards', () => {
    const store = new SqliteStore(':memory:');
    store.keys.insertKey(key('k1'));
    store.keys.touchKeys(new Map([['k1', new Date(9000)]]));
    store.keys.touchKeys(new Map([['k1', new Date(4000)]]));
    expect(store.keys.keyByHash('hash-k1')?.lastUsedAt).toEqual(new Date(9000));
  });

  it("notices another process's writes, not its own", () => {
    const path = tempPath();
    const server = new SqliteStore(path);
    const cli = new SqliteStore(path);
    const before = server.keys.externalChanges();
    server.keys.insertKey(key('k1'));
    expect(server.keys.externalChanges()).toBe(before);
    cli.keys.revokeKey('k1', new Date(2000));
    expect(server.keys.externalChanges()).not.toBe(before);
    expect(server.keys.keyByHash('hash-k1')?.revokedAt).toEqual(new Date(2000));
    cli.close();
    server.close();
  });
});

describe('audit log', () => {
  it('lists newest first with filters and a limit, and prunes by age', () => {
    const store = new SqliteStore(':memory:');
    const entry = (at: number, action: string, sandboxId?: string) => ({
      at: new Date(at),
      keyId: 'key_1',
      keyName: at % 2000 === 0 ? 'alice' : 'bob',
      tenant: 'team',
      action,
      outcome: 'ok',
      address: '127.0.0.1',
      ...(sandboxId === undefined ? {} : { sandboxId, detail: { argv: ['ls', '-la'] } }),
    });
    store.audit.addAudit(entry(1000, 'key.create'));
    store.audit.addAudit(entry(2000, 'exec', 'sb1'));
    store.audit.addAudit(entry(3000, 'exec', 'sb2'));
    store.audit.addAudit(entry(4000, 'sandbox.destroy', 'sb1'));
    expect(store.audit.listAudit({ limit: 10 }).map((row) => row.at.getTime())).toEqual([
      4000, 3000, 2000, 1000,
    ]);
    expect(store.audit.listAudit({ limit: 10, sandboxId: 'sb1' }).map((row) => row.action)).toEqual([
      'sandbox.destroy',
      'exec',
    ]);
    expect(store.audit.listAudit({ limit: 10, action: 'exec', keyName: 'alice' })).toEqual([
      { id: 2, ...entry(2000, 'exec', 'sb1') },
    ]);
    expect(store.audit.listAudit({ limit: 1, since: new Date(2000) })).toHaveLength(1);
    expect(store.audit.listAudit({ limit: 10, tenant: 'other' })).toEqual([]);
    expect(store.audit.pruneAudit(new Date(3000))).toBe(2);
    expect(store.audit.listAudit({ limit: 10 }).map((row) => row.at.getTime())).toEqual([4000, 3000]);
  });
});
