import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { isBurrowError } from '@burrow/protocol';
import type { SandboxRecord } from '../store.js';
import { SqliteStore } from './sqlite-store.js';

const dirs: string[] = [];

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-store-'));
  dirs.push(dir);
  return join(dir, 'state', 'burrow.db');
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function record(id: string, extra: Partial<SandboxRecord> = {}): SandboxRecord {
  return {
    id,
    image: 'busybox',
    status: 'running',
    config: {
      image: 'busybox',
      env: { A: '1' },
      ports: [{ sandboxPort: 80, hostPort: 8080, protocol: 'tcp' }],
    },
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
    expiresAt: new Date('2026-01-02T03:34:05.678Z'),
    ...extra,
  };
}

describe('SqliteStore', () => {
  it('keeps sandboxes with their full configuration across reopening', () => {
    const path = tempPath();
    const store = new SqliteStore(path);
    store.insertSandbox(record('a'));
    store.insertSandbox(record('b', { status: 'stopped', error: 'boom' }));
    store.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const reopened = new SqliteStore(path);
    expect(reopened.getSandbox('a')).toEqual(record('a'));
    expect(reopened.getSandbox('b')).toMatchObject({ status: 'stopped', error: 'boom' });
    expect(reopened.listSandboxes().map((entry) => entry.id)).toEqual(['a', 'b']);
    reopened.close();
  });

  it('keeps a paused sandbox with its last activity and pause time', () => {
    const path = tempPath();
    const store = new SqliteStore(path);
    const paused = record('p', {
      status: 'paused',
      lastActivityAt: new Date('2026-01-02T03:10:00.000Z'),
      pausedAt: new Date('2026-01-02T03:20:00.000Z'),
    });
    store.insertSandbox(paused);
    store.close();
    const reopened = new SqliteStore(path);
    expect(reopened.getSandbox('p')).toEqual(paused);
    reopened.updateSandbox(record('p'));
    expect(reopened.getSandbox('p')).toEqual(record('p'));
    reopened.close();
  });

  it('migrates a version-1 file (before pause and activity) without losing its sandboxes', () => {
    const path = tempPath();
    const store = new SqliteStore(path);
    store.insertSandbox(record('old'));
    store.close();
    const db = new Database(path);
    // What a version-1 file lacks: the activity columns (2) and the sandbox secrets table (3).
    db.exec(
      `DROP TABLE sandbox_secrets;
       ALTER TABLE sandboxes DROP COLUMN paused_at; ALTER TABLE sandboxes DROP COLUMN last_activity_at;
       ALTER TABLE sandboxes DROP COLUMN tenant; ALTER TABLE sandboxes DROP COLUMN key_id;
       ALTER TABLE sandboxes DROP COLUMN key_name; ALTER TABLE snapshots DROP COLUMN tenant;
       ALTER TABLE syncs DROP COLUMN tenant; DROP TABLE api_keys; DROP TABLE audit;`,
    );
    db.pragma('user_version = 1');
    db.close();
    const migrated = new SqliteStore(path);
    expect(migrated.getSandbox('old')).toEqual(record('old'));
    migrated.setSandboxSecret('old', 'token-key', 'k');
    expect(migrated.getSandboxSecret('old', 'token-key')).toBe('k');
    migrated.close();
  });

  it('stores a sandbox without expiry', () => {
    const store = new SqliteStore(':memory:');
    const { expiresAt: _unused, ...withoutExpiry } = record('a');
    store.insertSandbox(withoutExpiry);
    expect(store.getSandbox('a')?.expiresAt).toBeUndefined();
  });

  it('updates and deletes, refusing unknown and duplicate ids', () => {
    const store = new SqliteStore(':memory:');
    store.insertSandbox(record('a'));
    store.updateSandbox(record('a', { status: 'stopped' }));
    expect(store.getSandbox('a')?.status).toBe('stopped');
    expect(() => store.insertSandbox(record('a'))).toThrow(
      expect.objectContaining({ code: 'ALREADY_EXISTS' }) as Error,
    );
    try {
      store.updateSandbox(record('missing'));
      expect.unreachable();
    } catch (error) {
      expect(isBurrowError(error, 'SANDBOX_NOT_FOUND')).toBe(true);
    }
    store.deleteSandbox('a');
    expect(store.getSandbox('a')).toBeUndefined();
  });

  it('rolls back every write of a failed transaction', () => {
    const store = new SqliteStore(':memory:');
    expect(() =>
      store.transaction(() => {
        store.insertSandbox(record('a'));
        store.insertSandbox(record('a'));
      }),
    ).toThrow();
    expect(store.listSandboxes()).toEqual([]);
  });

  it('keeps snapshots and lists them per sandbox', () => {
    const store = new SqliteStore(':memory:');
    const snapshot = {
      id: 'snap-1',
      sandboxId: 'a',
      name: 'one',
      imageId: 'sha256:x',
      createdAt: new Date(1000),
      size: 42,
    };
    store.insertSnapshot(snapshot);
    store.insertSnapshot({ ...snapshot, id: 'snap-2', sandboxId: 'b', createdAt: new Date(2000) });
    expect(store.getSnapshot('snap-1')).toEqual(snapshot);
    expect(store.listSnapshots('a').map((entry) => entry.id)).toEqual(['snap-1']);
    expect(store.listSnapshots().map((entry) => entry.id)).toEqual(['snap-1', 'snap-2']);
    store.deleteSnapshot('snap-1');
    expect(store.getSnapshot('snap-1')).toBeUndefined();
  });

  it('records sync reports in order', () => {
    const store = new SqliteStore(':memory:');
    store.addSync({ sandboxId: 'a', direction: 'download', startedAt: new Date(1), report: { objects: 3 } });
    store.addSync({ sandboxId: 'a', direction: 'upload', startedAt: new Date(2), report: { objects: 4 } });
    expect(store.listSyncs('a').map((sync) => [sync.direction, sync.report])).toEqual([
      ['download', { objects: 3 }],
      ['upload', { objects: 4 }],
    ]);
  });

  it('keeps server-held secrets per sandbox, replaces them, and deletes them with the sandbox', () => {
    const store = new SqliteStore(':memory:');
    store.insertSandbox(record('a'));
    store.insertSandbox(record('b'));
    store.setSandboxSecret('a', 'token-key', 'one');
    store.setSandboxSecret('a', 'token-key', 'two');
    store.setSandboxSecret('b', 'token-key', 'other');
    expect(store.getSandboxSecret('a', 'token-key')).toBe('two');
    expect(store.getSandboxSecret('a', 'missing')).toBeUndefined();
    expect(() => store.setSandboxSecret('nope', 'token-key', 'x')).toThrow(
      expect.objectContaining({ code: 'SANDBOX_NOT_FOUND' }),
    );
    store.deleteSandbox('a');
    expect(store.getSandboxSecret('a', 'token-key')).toBeUndefined();
    expect(store.getSandboxSecret('b', 'token-key')).toBe('other');
  });
});
