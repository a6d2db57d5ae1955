/**
 * The engine on a shared server: what a caller sees (its tenant's sandboxes, snapshots and reports; an admin sees
 * all), quotas that refuse with QUOTA_EXCEEDED and recover, tenants' own volumes, and the audit log it writes.
 */
import { describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import { silentLogger } from '../logger.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { testPolicy } from '../test-support/policy.js';
import { Auditor } from './audit.js';
import { CallerContext, type Caller } from './caller.js';
import { Engine } from './engine.js';
import { Quotas, type TenantQuota } from './quotas.js';

const alice: Caller = {
  keyId: 'key_a',
  keyName: 'alice',
  tenant: 'alpha',
  admin: false,
  address: '10.0.0.1',
};
const bob: Caller = { keyId: 'key_b', keyName: 'bob', tenant: 'beta', admin: false };
const admin: Caller = { keyId: 'config:0000', keyName: 'config:0000', tenant: '', admin: true };

function setup(quota: Partial<TenantQuota> = {}) {
  const runtime = new FakeRuntime();
  const store = new SqliteStore(':memory:');
  const callers = new CallerContext();
  const engine = new Engine({
    runtime,
    store,
    policy: testPolicy({ maxCpu: 4e9, defaultMemory: 256 * 1024 ** 2 }),
    maxSandboxes: 50,
    logger: silentLogger,
    callers,
    quotas: new Quotas({ defaultQuota: quota, unlimitedCpu: 4e9 }),
    auditor: new Auditor({ store: store.audit, callers, logger: silentLogger, retentionMs: 0 }),
  });
  const as =
    (caller: Caller) =>
    <T>(work: (engine: Engine) => T): T =>
      callers.run(caller, () => work(engine));
  return { runtime, store, engine, asAlice: as(alice), asBob: as(bob), asAdmin: as(admin) };
}

async function codeOf(work: () => unknown): Promise<string | undefined> {
  try {
    await work();
  } catch (error) {
    return isBurrowError(error) ? error.code : String(error);
  }
  return undefined;
}

describe('what a caller sees', () => {
  it("another tenant's sandbox is not found by any use case; the owner and admins find it", async () => {
    const { engine, asAlice, asBob, asAdmin } = setup();
    const id = (await asAlice((e) => e.create({}))).id;
    await asAlice((e) => e.writeFile(id, '/tmp/f', 'x'));
    const calls: Array<[string, (e: Engine) => unknown]> = [
      ['get', (e) => e.get(id)],
      ['exec', (e) => e.exec(id, { cmd: ['true'] })],
      ['execStream', (e) => e.execStream(id, { cmd: ['true'] })],
      ['readFile', (e) => e.readFile(id, '/tmp/f')],
      ['writeFile', (e) => e.writeFile(id, '/tmp/g', 'y')],
      ['listDir', (e) => e.listDir(id, '/tmp')],
      ['stat', (e) => e.stat(id, '/tmp/f')],
      ['mkdir', (e) => e.mkdir(id, '/tmp/d')],
      ['removeFile', (e) => e.removeFile(id, '/tmp/f')],
      ['stats', (e) => e.stats(id)],
      ['extendTimeout', (e) => e.extendTimeout(id, 60_000)],
      ['createSnapshot', (e) => e.createSnapshot(id, 'x')],
      ['s3SyncReports', (e) => e.s3SyncReports(id)],
      ['updateMemoryLimit', (e) => e.updateMemoryLimit(id, 64 * 1024 ** 2)],
      ['fork', (e) => e.fork(id, 1)],
      ['pause', (e) => e.pause(id)],
      ['resume', (e) => e.resume(id)],
      ['processes.list', (e) => e.processes.list(id)],
      ['processes.start', (e) => e.processes.start(id, { cmd: ['true'] })],
      ['processes.watch', (e) => e.processes.watch(id, '/tmp')],
      ['stop', (e) => e.stop(id)],
      ['start', (e) => e.start(id)],
      ['destroy', (e) => e.destroy(id)],
    ];
    for (const [name, call] of calls)
      expect([name, await codeOf(() => asBob(call))]).toEqual([name, 'SANDBOX_NOT_FOUND']);
    expect(asBob((e) => e.list())).toEqual([]);
    expect(asBob((e) => e.systemStats())).toEqual({ running: 0, paused: 0, stopped: 0, total: 0 });
    expect(asAlice((e) => e.list()).map((s) => s.id)).toEqual([id]);
    expect(asAdmin((e) => e.list()).map((s) => s.id)).toEqual([id]);
    // Outside any request: the system (the reaper, shutdown) sees everything.
    expect(engine.list().map((s) => s.id)).toEqual([id]);
    expect((await asAlice((e) => e.get(id))).owner).toEqual({
      tenant: 'alpha',
      keyId: 'key_a',
      keyName: 'alice',
    });
    await expect(asAlice((e) => e.readFile(id, '/tmp/f'))).resolves.toBeDefined();
    await asAdmin((e) => e.destroy(id));
  });

  it('sandboxes made by an admin key (or before tenancy) are seen by admins only', async () => {
    const { asAlice, asAdmin } = setup();
    const id = (await asAdmin((e) => e.create({}))).id;
    expect(await codeOf(() => asAlice((e) => e.get(id)))).toBe('SANDBOX_NOT_FOUND');
    expect((await asAdmin((e) => e.get(id))).owner?.tenant).toBe('');
  });

  it("snapshots belong to their sandbox's tenant, also after it is gone and when an admin takes them", async () => {
    const { asAlice, asBob, asAdmin } = setup();
    const id = (await asAlice((e) => e.create({}))).id;
    const own = await asAlice((e) => e.createSnapshot(id, 'mine'));
    const byAdmin = await asAdmin((e) => e.createSnapshot(id, 'by-admin'));
    expect(byAdmin.tenant).toBe('alpha');
    await asAlice((e) => e.destroy(id));
    expect(asAlice((e) => e.listSnapshots(id)).map((s) => s.name)).toEqual(['mine', 'by-admin']);
    expect(asBob((e) => e.listSnapshots(id))).toEqual([]);
    expect(await codeOf(() => asBob((e) => e.restoreSnapshot(own.id)))).toBe('SNAPSHOT_NOT_FOUND');
    expect(await codeOf(() => asBob((e) => e.deleteSnapshot(own.id)))).toBe('SNAPSHOT_NOT_FOUND');
    const restored = await asAlice((e) => e.restoreSnapshot(own.id));
    expect(restored.owner?.tenant).toBe('alpha');
    await asAlice((e) => e.deleteSnapshot(own.id));
  });

  it("names a tenant's volumes after it, so no tenant mounts another's by name", async () => {
    const { asAlice, asBob } = setup();
    const volumes = [{ name: 'data', mountPath: '/data', readOnly: false }];
    const mine = await asAlice((e) => e.create({ storage: { volumes } }));
    const theirs = await asBob((e) => e.create({ storage: { volumes } }));
    expect(mine.config.storage?.volumes?.[0]?.name).toBe('burrow-alpha.data');
    expect(theirs.config.storage?.volumes?.[0]?.name).toBe('burrow-beta.data');
  });
});

describe('quotas', () => {
  it('counts sandboxes at once: refused with QUOTA_EXCEEDED, free again after a stop or destroy', async () => {
    const { asAlice, asBob } = setup({ sandboxes: 2 });
    const first = (await asAlice((e) => e.create({}))).id;
    await asAlice((e) => e.create({}));
    const refused = await asAlice((e) => e.create({})).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'sandboxes', tenant: 'alpha', limit: 2, used: 2 },
    });
    expect((refused as Error).message).toMatch(/quota of 2 sandboxes at once \(2 in use/);
    // Another tenant has its own quota.
    await asBob((e) => e.create({}));
    await asAlice((e) => e.stop(first));
    const third = (await asAlice((e) => e.create({}))).id;
    // Starting the stopped one again needs a slot.
    expect(await codeOf(() => asAlice((e) => e.start(first)))).toBe('QUOTA_EXCEEDED');
    await asAlice((e) => e.destroy(third));
    await asAlice((e) => e.start(first));
  });

  it("counts forks and restores as the caller's sandboxes: all or none of a fork fits", async () => {
    const { asAlice, store } = setup({ sandboxes: 2 });
    const id = (await asAlice((e) => e.create({}))).id;
    expect(await codeOf(() => asAlice((e) => e.fork(id, 2)))).toBe('QUOTA_EXCEEDED');
    expect(store.listSandboxes()).toHaveLength(1);
    const [copy] = await asAlice((e) => e.fork(id, 1));
    expect(copy?.owner).toEqual({ tenant: 'alpha', keyId: 'key_a', keyName: 'alice' });
    const snapshot = await asAlice((e) => e.createSnapshot(id, 's'));
    expect(await codeOf(() => asAlice((e) => e.restoreSnapshot(snapshot.id)))).toBe('QUOTA_EXCEEDED');
    const actions = store.audit.listAudit({ limit: 100, keyName: 'alice' }).map((entry) => entry.action);
    expect(actions).toEqual(expect.arrayContaining(['sandbox.fork', 'snapshot.restore']));
  });

  it('never lets concurrent creates past the quota', async () => {
    const { asAlice } = setup({ sandboxes: 3 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => asAlice((e) => e.create({}))));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(3);
  });

  it('counts memory and CPU of active sandboxes (no CPU limit counts as the whole maximum)', async () => {
    const memory = setup({ memoryBytes: 600 * 1024 ** 2 });
    await memory.asAlice((e) => e.create({ memory: 512 * 1024 ** 2 }));
    const refused = await memory.asAlice((e) => e.create({})).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: { quota: 'memory', limit: 600 * 1024 ** 2, used: 512 * 1024 ** 2, requested: 256 * 1024 ** 2 },
    });
    await memory.asAlice((e) => e.create({ memory: 64 * 1024 ** 2 }));

    const cpu = setup({ cpu: 3e9 });
    await cpu.asAlice((e) => e.create({ cpu: 2e9 }));
    expect(await codeOf(() => cpu.asAlice((e) => e.create({ cpu: 2e9 })))).toBe('QUOTA_EXCEEDED');
    expect(await codeOf(() => cpu.asAlice((e) => e.create({})))).toBe('QUOTA_EXCEEDED');
    await cpu.asAlice((e) => e.create({ cpu: 1e9 }));
  });

  it('counts snapshots stored, and an admin is held to no quota', async () => {
    const { asAlice, asAdmin } = setup({ snapshots: 1, sandboxes: 1 });
    const id = (await asAlice((e) => e.create({}))).id;
    const first = await asAlice((e) => e.createSnapshot(id, 'one'));
    expect(await codeOf(() => asAlice((e) => e.createSnapshot(id, 'two')))).toBe('QUOTA_EXCEEDED');
    // An admin's snapshot of her sandbox is hers too, so it is held to her quota.
    expect(await codeOf(() => asAdmin((e) => e.createSnapshot(id, 'two')))).toBe('QUOTA_EXCEEDED');
    await asAlice((e) => e.deleteSnapshot(first.id));
    await asAlice((e) => e.createSnapshot(id, 'two'));
    for (let i = 0; i < 3; i += 1) await asAdmin((e) => e.create({}));
  });

  it('reports use per tenant: all tenants to an admin, its own to a tenant', async () => {
    const { asAlice, asBob, asAdmin } = setup({ sandboxes: 5 });
    await asAlice((e) => e.create({ memory: 64 * 1024 ** 2, cpu: 1e9 }));
    await asBob((e) => e.create({}));
    expect(asAdmin((e) => e.tenantUsage(['gamma'])).map((entry) => entry.tenant)).toEqual([
      'alpha',
      'beta',
      'gamma',
    ]);
    expect(asAlice((e) => e.tenantUsage(['gamma']))).toEqual([
      {
        tenant: 'alpha',
        use: { sandboxes: 1, memoryBytes: 64 * 1024 ** 2, cpu: 1e9, snapshots: 0 },
        quota: { sandboxes: 5, memoryBytes: 0, cpu: 0, snapshots: 0 },
      },
    ]);
  });
});

describe('audit log', () => {
  it('records who did what to which sandbox and how it ended, never env values or file contents', async () => {
    const { store, asAlice, asBob } = setup();
    const id = (await asAlice((e) => e.create({ env: { TOKEN: 'env-secret-value' } }))).id;
    await asAlice((e) => e.exec(id, { cmd: ['echo', 'hi'], env: { PASSWORD: 'exec-secret-value' } }));
    await asAlice((e) => e.writeFile(id, '/tmp/notes', 'file-secret-content'));
    await asAlice((e) => e.writeFile(id, Buffer.from([...Buffer.from('/tmp/'), 0xff]), 'x'));
    await asBob((e) => e.destroy(id)).catch(() => undefined);
    await asAlice((e) => e.destroy(id));
    const entries = store.audit.listAudit({ limit: 100 }).reverse();
    expect(entries.map((entry) => [entry.keyName, entry.action, entry.outcome])).toEqual([
      ['alice', 'sandbox.create', 'ok'],
      ['alice', 'exec', 'ok'],
      ['alice', 'file.write', 'ok'],
      ['alice', 'file.write', 'ok'],
      ['alice', 'sandbox.destroy', 'ok'],
    ]);
    expect(entries[1]).toMatchObject({
      sandboxId: id,
      tenant: 'alpha',
      address: '10.0.0.1',
      detail: { argv: ['echo', 'hi'] },
    });
    expect(entries[2]?.detail).toEqual({ path: '/tmp/notes' });
    expect(entries[3]?.detail).toEqual({ path: '/tmp/\\xff' });
    expect(JSON.stringify(entries)).not.toMatch(/secret/);
  });

  it('records a failure with its code', async () => {
    const { store, runtime, asAlice } = setup();
    const id = (await asAlice((e) => e.create({}))).id;
    await runtime.stop(id);
    await asAlice((e) => e.exec(id, { cmd: ['true'] })).catch(() => undefined);
    expect(store.audit.listAudit({ limit: 1 })[0]).toMatchObject({
      action: 'exec',
      outcome: 'SANDBOX_NOT_RUNNING',
    });
  });
});
