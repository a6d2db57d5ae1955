/** API keys: config keys are admins; stored keys resolve to their tenant, expire, and stop working when revoked. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { Auditor } from './audit.js';
import { CallerContext } from './caller.js';
import type { Clock } from './clock.js';
import { keyDigest, KeyService } from './keys.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

class ManualClock implements Clock {
  time = Date.parse('2026-05-01T00:00:00Z');
  now(): Date {
    return new Date(this.time);
  }
}

function setup(path = ':memory:') {
  const store = new SqliteStore(path);
  const clock = new ManualClock();
  const callers = new CallerContext();
  const auditor = new Auditor({ store: store.audit, callers, logger: silentLogger, retentionMs: 0 });
  const keys = new KeyService({
    store: store.keys,
    configKeys: ['config-key-one'],
    logger: silentLogger,
    clock,
    auditor,
  });
  return { store, clock, keys };
}

describe('KeyService', () => {
  it('treats config keys as admin keys with no tenant', () => {
    const { keys } = setup();
    const caller = keys.resolve('config-key-one');
    expect(caller).toMatchObject({ tenant: '', admin: true });
    expect(caller?.keyName).toMatch(/^config:[0-9a-f]{8}$/);
    expect(keys.resolve('config-key-two')).toBeUndefined();
  });

  it('creates a key shown once and stored only as its SHA-256, in the tenant named (default: its name)', () => {
    const { keys, store } = setup();
    const { record, key } = keys.create({ name: 'alice', createdBy: 'cli:root' });
    expect(key).toMatch(/^bk_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ name: 'alice', tenant: 'alice', admin: false, prefix: key.slice(0, 12) });
    expect(record.hash).toBe(keyDigest(key).toString('hex'));
    expect(JSON.stringify(store.keys.listKeys())).not.toContain(key);
    expect(keys.resolve(key)).toEqual({ keyId: record.id, keyName: 'alice', tenant: 'alice', admin: false });

    const team = keys.create({ name: 'ci', tenant: 'alice', createdBy: 'alice' });
    expect(keys.resolve(team.key)?.tenant).toBe('alice');
    const ops = keys.create({ name: 'ops', admin: true, createdBy: 'cli:root' });
    expect(keys.resolve(ops.key)).toMatchObject({ tenant: '', admin: true });
  });

  it('makes keys of the e2b_<40 hex> shape', () => {
    const { keys } = setup();
    const { key } = keys.create({ name: 'e2b-user', format: 'e2b', createdBy: 'cli:root' });
    expect(key).toMatch(/^e2b_[0-9a-f]{40}$/);
    expect(keys.resolve(key)?.keyName).toBe('e2b-user');
  });

  it('refuses bad names and duplicate live names with what to change', () => {
    const { keys } = setup();
    expect(() => keys.create({ name: 'has space', createdBy: 'x' })).toThrow(/1-64 letters/);
    expect(() => keys.create({ name: 'ok', tenant: '-bad', createdBy: 'x' })).toThrow(/tenant/);
    // No dots: a tenant's volumes are named <tenant>.<name>.
    expect(() => keys.create({ name: 'a.b', createdBy: 'x' })).toThrow(/1-64 letters/);
    expect(() => keys.create({ name: 'System', createdBy: 'x' })).toThrow(/reserved/);
    keys.create({ name: 'dup', createdBy: 'x' });
    expect(() => keys.create({ name: 'dup', createdBy: 'x' })).toThrow(/already exists/);
  });

  it('expires a key at its time', () => {
    const { keys, clock } = setup();
    const { key } = keys.create({ name: 'brief', expiresInMs: 60_000, createdBy: 'x' });
    expect(keys.resolve(key)).toBeDefined();
    clock.time += 60_000;
    expect(keys.resolve(key)).toBeUndefined();
  });

  it('revokes by id or name at once, also a key cached by earlier requests', () => {
    const { keys } = setup();
    const first = keys.create({ name: 'one', createdBy: 'x' });
    const second = keys.create({ name: 'two', createdBy: 'x' });
    expect(keys.resolve(first.key)).toBeDefined();
    expect(keys.resolve(second.key)).toBeDefined();
    keys.revoke('one');
    keys.revoke(second.record.id);
    expect(keys.resolve(first.key)).toBeUndefined();
    expect(keys.resolve(second.key)).toBeUndefined();
    expect(() => keys.revoke('one')).toThrow(expect.objectContaining({ code: 'KEY_NOT_FOUND' }) as Error);
    expect(keys.list().every((record) => record.revokedAt !== undefined)).toBe(true);
  });

  it('sees a revocation made by another process (burrow keys revoke) on the next request', () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-keys-'));
    dirs.push(dir);
    const server = setup(join(dir, 'burrow.db'));
    const cli = setup(join(dir, 'burrow.db'));
    const { key } = cli.keys.create({ name: 'agent', createdBy: 'cli:root' });
    expect(server.keys.resolve(key)?.keyName).toBe('agent');
    cli.keys.revoke('agent');
    expect(server.keys.resolve(key)).toBeUndefined();
    server.store.close();
    cli.store.close();
  });

  it('writes last-use times in batches and shows pending ones in the listing', () => {
    const { keys, store, clock } = setup();
    const { key, record } = keys.create({ name: 'busy', createdBy: 'x' });
    for (let i = 0; i < 100; i += 1) keys.resolve(key);
    expect(store.keys.keyByHash(record.hash)?.lastUsedAt).toBeUndefined();
    expect(keys.list()[0]?.lastUsedAt).toEqual(clock.now());
    keys.flush();
    expect(store.keys.keyByHash(record.hash)?.lastUsedAt).toEqual(clock.now());
  });

  it('audits key changes without the key', () => {
    const { keys, store } = setup();
    const { key } = keys.create({ name: 'audited', createdBy: 'x' });
    keys.revoke('audited');
    const entries = store.audit.listAudit({ limit: 10 });
    expect(entries.map((entry) => entry.action)).toEqual(['key.revoke', 'key.create']);
    expect(JSON.stringify(entries)).not.toContain(key.slice(12));
  });

  it('knows whether any key could be valid', () => {
    const { store, clock } = setup();
    const keys = new KeyService({ store: store.keys, logger: silentLogger, clock });
    expect(keys.hasKeys()).toBe(false);
    keys.create({ name: 'later', expiresInMs: 1000, createdBy: 'x' });
    expect(keys.hasKeys()).toBe(true);
    clock.time += 1000;
    expect(keys.hasKeys()).toBe(false);
  });
});
