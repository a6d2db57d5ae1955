import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import type { SandboxConfig, SandboxInfo, SandboxLimits } from '../runtime/runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { admit, type SandboxPolicy } from './admission.js';
import { Engine } from './engine.js';
import { reconcile } from './reconcile.js';
import {
  fitsProfile,
  limitChanges,
  normaliseImage,
  poolKey,
  WarmPool,
  warmPoolSpecs,
  type WarmPoolSpec,
} from './warm-pool.js';
import { testPolicy as defaultTestPolicy } from '../test-support/policy.js';

const IMAGE = 'fake/image';

const testPolicy = defaultTestPolicy({ defaultImage: IMAGE });

interface Setup {
  runtime: FakeRuntime;
  store: SqliteStore;
  pool: WarmPool;
  engine: Engine;
  memory: { short: boolean };
}

function setup(
  options: {
    pools?: WarmPoolSpec[];
    runtime?: FakeRuntime;
    store?: SqliteStore;
    maxSandboxes?: number;
    policy?: Partial<SandboxPolicy>;
  } = {},
): Setup {
  const runtime = options.runtime ?? new FakeRuntime();
  const store = options.store ?? new SqliteStore(':memory:');
  const policy = { ...testPolicy, ...options.policy };
  const memory = { short: false };
  const pool = new WarmPool({
    runtime,
    pools: options.pools ?? [{ image: IMAGE, size: 2 }],
    profile: (image) => admit({ image }, policy).config,
    logger: silentLogger,
    memoryShort: () => memory.short,
    checkIntervalMs: 60_000,
    retryMs: 1,
  });
  const engine = new Engine({
    runtime,
    store,
    policy,
    maxSandboxes: options.maxSandboxes ?? 10,
    logger: silentLogger,
    warmPool: pool,
  });
  return { runtime, store, pool, engine, memory };
}

/** Waits until every pool is full and nothing is in flight. */
async function full(pool: WarmPool): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    await pool.settled();
    const stats = pool.stats();
    if (stats.ready === stats.target && stats.creating === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`the pool did not fill: ${JSON.stringify(pool.stats())}`);
}

async function members(runtime: FakeRuntime): Promise<SandboxInfo[]> {
  return (await runtime.list()).filter((info) => info.pool !== undefined);
}

describe('warm pool: pure parts', () => {
  it('merges warm_pool_size with warm_pools, later entries winning, empty pools dropped', () => {
    expect(warmPoolSpecs('a', 2, [])).toEqual([{ image: 'a', size: 2 }]);
    expect(warmPoolSpecs('a', 0, [{ image: 'b', size: 1 }])).toEqual([{ image: 'b', size: 1 }]);
    expect(warmPoolSpecs('a:latest', 2, [{ image: 'a', size: 5 }])).toEqual([{ image: 'a', size: 5 }]);
    expect(warmPoolSpecs('a', 2, [{ image: 'a', size: 0 }])).toEqual([]);
  });

  it('normalises image references', () => {
    expect(normaliseImage('busybox')).toBe('busybox:latest');
    expect(normaliseImage('localhost:5000/x/busybox')).toBe('localhost:5000/x/busybox:latest');
    expect(normaliseImage('burrow-test/busybox:1')).toBe('burrow-test/busybox:1');
    expect(normaliseImage('a@sha256:00')).toBe('a@sha256:00');
  });

  it('keys pools by image and profile', () => {
    const profile = admit({ image: IMAGE }, testPolicy).config;
    expect(poolKey(profile)).toBe(poolKey({ ...profile, image: `${IMAGE}:latest` }));
    expect(poolKey(profile)).not.toBe(poolKey({ ...profile, memory: 1 }));
    expect(poolKey(profile)).not.toBe(poolKey(profile, [{ path: '/tmp', size: '1m' }]));
  });

  it('matches a request to a profile only when nothing create-time differs', () => {
    const profile = admit({ image: IMAGE }, testPolicy).config;
    const fits = (input: Parameters<typeof admit>[0]) =>
      fitsProfile(admit({ image: IMAGE, ...input }, testPolicy).config, profile);
    expect(fits({})).toBe(true);
    expect(
      fits({
        env: { A: '1' },
        labels: { team: 'x' },
        cpu: 5e8,
        memory: 64 << 20,
        pidLimit: 50,
        timeoutMs: 1000,
      }),
    ).toBe(true);
    expect(fits({ image: `${IMAGE}:latest`, networkMode: 'internal' })).toBe(true);
    expect(fits({ image: 'other/image' })).toBe(false);
    expect(fits({ networkMode: 'none' })).toBe(false);
    expect(fits({ writableRootfs: true })).toBe(false);
    expect(fits({ ports: [{ sandboxPort: 80, hostPort: 8080 }] })).toBe(false);
    expect(fits({ workdir: '/tmp' })).toBe(false);
    expect(fits({ cmd: ['sleep', '1'] })).toBe(false);
    expect(fits({ diskLimit: 1 << 30 })).toBe(false);
    expect(fits({ storage: { volumes: [{ name: 'data', mountPath: '/data', readOnly: false }] } })).toBe(
      false,
    );
    expect(fits({ storage: { tmpfs: [{ path: '/tmp', size: '1m' }] } })).toBe(false);
    expect(fits({ storage: { s3: { bucket: 'bkt', mode: 'hooks' } } })).toBe(false);
    // A field the pool does not know about is never assumed to be applicable.
    expect(fitsProfile({ ...profile, somethingNew: true } as SandboxConfig, profile)).toBe(false);
  });

  it('lists only the limits that differ', () => {
    expect(
      limitChanges({ image: 'x', cpu: 0, memory: 0, pidLimit: 256 }, { image: 'x', pidLimit: 256 }),
    ).toBeUndefined();
    expect(limitChanges({ image: 'x', pidLimit: 256 }, { image: 'x', memory: 5, pidLimit: 10 })).toEqual({
      memory: 5,
      pidLimit: 10,
    });
  });
});

describe('warm pool', () => {
  it('fills in the background with marked members that are not sandboxes to the API', async () => {
    const { runtime, pool, engine } = setup();
    await pool.start();
    await full(pool);
    expect(pool.stats()).toMatchObject({ target: 2, ready: 2, creating: 0, memoryShort: false });
    expect((await members(runtime)).map((info) => info.status)).toEqual(['running', 'running']);
    expect(engine.list()).toEqual([]);
    await pool.drain();
  });

  it('serves a matching create from the pool with its env, labels, limits and lifetime, then refills', async () => {
    const { runtime, pool, engine, store } = setup();
    await pool.start();
    await full(pool);
    const ready = (await members(runtime)).map((info) => info.id);
    const updates: SandboxLimits[] = [];
    const update = runtime.updateLimits.bind(runtime);
    runtime.updateLimits = (id, limits) => {
      updates.push(limits);
      return update(id, limits);
    };
    const creates = runtime.createCount;

    const sandbox = await engine.create({
      env: { GREETING: 'hello' },
      labels: { team: 'x' },
      memory: 64 << 20,
      pidLimit: 50,
      timeoutMs: 60_000,
    });
    expect(ready).toContain(sandbox.id);
    expect(sandbox.status).toBe('running');
    expect(store.getSandbox(sandbox.id)?.config).toMatchObject({
      env: { GREETING: 'hello' },
      labels: { team: 'x' },
      memory: 64 << 20,
      pidLimit: 50,
    });
    expect(sandbox.expiresAt!.getTime() - sandbox.createdAt.getTime()).toBe(60_000);
    expect(updates).toEqual([{ memory: 64 << 20, pidLimit: 50 }]);
    expect(runtime.limitsOf(sandbox.id)).toMatchObject({ memory: 64 << 20, pidLimit: 50 });
    // The env reaches execs although the member was created without it; the call's own env still wins.
    expect((await engine.exec(sandbox.id, { cmd: ['printenv', 'GREETING'] })).stdout.toString()).toBe(
      'hello\n',
    );
    const overridden = await engine.exec(sandbox.id, {
      cmd: ['printenv', 'GREETING'],
      env: { GREETING: 'bye' },
    });
    expect(overridden.stdout.toString()).toBe('bye\n');
    const stream = await engine.execStream(sandbox.id, { cmd: ['printenv', 'GREETING'] });
    let streamed = '';
    for await (const event of stream) if (event.type === 'stdout') streamed += event.data.toString();
    expect(streamed).toBe('hello\n');

    await full(pool);
    expect(runtime.createCount).toBe(creates + 1); // the refill, not the request
    expect(pool.stats().ready).toBe(2);
    await engine.destroy(sandbox.id);
    await pool.drain();
    expect(await runtime.list()).toEqual([]);
  });

  it('creates cold, transparently, when the request does not fit or the pool is empty', async () => {
    const { runtime, pool, engine } = setup({ pools: [{ image: IMAGE, size: 1 }] });
    await pool.start();
    await full(pool);
    const [member] = await members(runtime);
    const cold = await engine.create({ workdir: '/tmp' });
    expect(cold.id).not.toBe(member?.id);
    expect((await runtime.info(cold.id)).pool).toBeUndefined();
    const warm = await engine.create({});
    expect(warm.id).toBe(member?.id);
    // The refill has not finished yet: this one is cold.
    const another = await engine.create({});
    expect(another.id).not.toBe(member?.id);
    await pool.drain();
    for (const record of engine.list()) await engine.destroy(record.id);
    expect(await runtime.list()).toEqual([]);
  });

  it('falls back to a cold create when a member cannot take the limits, and removes that member', async () => {
    const { runtime, pool, engine } = setup({ pools: [{ image: IMAGE, size: 1 }] });
    await pool.start();
    await full(pool);
    const [member] = await members(runtime);
    runtime.updateLimits = () => Promise.reject(new Error('engine said no'));
    const sandbox = await engine.create({ memory: 64 << 20 });
    expect(sandbox.status).toBe('running');
    const info = await runtime.info(sandbox.id);
    expect(info.pool).toBeUndefined();
    expect(info.config?.memory).toBe(64 << 20);
    expect(sandbox.id).toBe(member?.id); // the id the member lent is kept
    await pool.drain();
    await engine.destroy(sandbox.id);
    expect(await runtime.list()).toEqual([]);
  });

  it('gives a member back when admission refuses the create', async () => {
    const { runtime, pool, engine } = setup({ pools: [{ image: IMAGE, size: 1 }], maxSandboxes: 1 });
    await pool.start();
    await full(pool);
    const first = await engine.create({ timeoutMs: 1000 });
    await full(pool);
    await expect(engine.create({})).rejects.toMatchObject({ code: 'SANDBOX_LIMIT_REACHED' });
    await pool.settled();
    expect(pool.stats().ready).toBe(1);
    // A taken member keeps its mark (Docker labels are fixed); the store's record is what counts.
    const idle = (await members(runtime)).filter((info) =>
      engine.list().every((record) => record.id !== info.id),
    );
    expect(idle).toHaveLength(1);
    await engine.destroy(first.id);
    await pool.drain();
    expect(await runtime.list()).toEqual([]);
  });

  it('drains on shutdown, including members still being created', async () => {
    const { runtime, pool } = setup({ pools: [{ image: IMAGE, size: 3 }] });
    await pool.start();
    expect(pool.stats().creating).toBeGreaterThan(0);
    await pool.drain();
    expect(await runtime.list()).toEqual([]);
    expect(pool.take(admit({}, testPolicy).config)).toBeUndefined();
  });

  it('replaces an idle member that dies', async () => {
    const { runtime, pool, engine } = setup({ pools: [{ image: IMAGE, size: 1 }] });
    const watching = new AbortController();
    const events = (async () => {
      for await (const event of runtime.events(watching.signal))
        if (event.type === 'died') engine.observeExit(event.id, event.exitCode, event.oomKilled);
    })();
    await pool.start();
    await full(pool);
    const [member] = await members(runtime);
    runtime.simulateDeath(member!.id, 137);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await full(pool);
    const now = await members(runtime);
    expect(now.map((info) => info.id)).not.toContain(member!.id);
    expect(now.map((info) => info.status)).toEqual(['running']);
    watching.abort();
    await events;
    await pool.drain();
  });

  it('releases idle members while host memory is short and refills after', async () => {
    const { runtime, pool, memory } = setup({ pools: [{ image: IMAGE, size: 2 }] });
    await pool.start();
    await full(pool);
    memory.short = true;
    (pool as unknown as { check(): void }).check();
    await pool.settled();
    expect(pool.stats()).toMatchObject({ target: 0, ready: 0, memoryShort: true });
    expect(await members(runtime)).toEqual([]);
    expect(pool.take(admit({}, testPolicy).config)).toBeUndefined();
    memory.short = false;
    (pool as unknown as { check(): void }).check();
    await full(pool);
    expect(pool.stats()).toMatchObject({ target: 2, ready: 2, memoryShort: false });
    await pool.drain();
  });

  it('backs off and retries when members cannot be created', async () => {
    const runtime = new FakeRuntime({ images: [] });
    const { pool } = setup({ runtime, pools: [{ image: IMAGE, size: 1 }] });
    await pool.start();
    await pool.settled();
    expect(pool.stats()).toMatchObject({ ready: 0 });
    expect(await runtime.list()).toEqual([]);
    await pool.drain();
  });

  it('carries env, labels and limits into a sandbox restored from a snapshot of a pooled one', async () => {
    const { runtime, pool, engine } = setup({ pools: [{ image: IMAGE, size: 1 }] });
    await pool.start();
    await full(pool);
    const sandbox = await engine.create({
      env: { GREETING: 'hello' },
      labels: { team: 'x' },
      memory: 64 << 20,
    });
    const snapshot = await engine.createSnapshot(sandbox.id, 'pooled');
    const restored = await engine.restoreSnapshot(snapshot.id);
    expect(restored.config).toMatchObject({
      env: { GREETING: 'hello' },
      labels: { team: 'x' },
      memory: 64 << 20,
    });
    expect((await runtime.stats(restored.id)).memoryLimit).toBe(64 << 20);
    expect((await engine.exec(restored.id, { cmd: ['printenv', 'GREETING'] })).stdout.toString()).toBe(
      'hello\n',
    );
    await pool.drain();
    for (const record of engine.list()) await engine.destroy(record.id);
  });
});

describe('warm pool across a crash', () => {
  async function restart(runtime: FakeRuntime, store: SqliteStore, pools: WarmPoolSpec[]) {
    const next = setup({ runtime, store, pools });
    const leftovers: SandboxInfo[] = [];
    const report = await reconcile(runtime, store, silentLogger, {
      isForeign: (info) => info.pool !== undefined && leftovers.push(info) > 0,
    });
    await next.pool.start(leftovers);
    return { ...next, report };
  }

  it('keeps taken members as ordinary sandboxes and adopts the idle ones; nothing is orphaned', async () => {
    const first = setup({ pools: [{ image: IMAGE, size: 2 }] });
    await first.pool.start();
    await full(first.pool);
    const taken = await first.engine.create({ env: { A: '1' }, labels: { team: 'x' } });
    await full(first.pool);
    const idle = (await members(first.runtime)).map((info) => info.id).filter((id) => id !== taken.id);
    expect(idle).toHaveLength(2);
    // The process dies: no drain.

    const second = await restart(first.runtime, first.store, [{ image: IMAGE, size: 2 }]);
    expect(second.report.adopted).toEqual([taken.id]);
    expect(second.report.removedOrphans).toEqual([]);
    expect(second.store.getSandbox(taken.id)).toMatchObject({
      status: 'running',
      config: { env: { A: '1' }, labels: { team: 'x' } },
    });
    expect(second.pool.stats()).toMatchObject({ ready: 2 });
    // Taken is a normal sandbox: exec gets its env, and a create takes one of the adopted members.
    expect((await second.engine.exec(taken.id, { cmd: ['printenv', 'A'] })).stdout.toString()).toBe('1\n');
    const next = await second.engine.create({});
    expect(idle).toContain(next.id);
    await second.pool.drain();
    for (const record of second.engine.list()) await second.engine.destroy(record.id);
    expect(await first.runtime.list()).toEqual([]);
  });

  it('removes members of pools no longer configured or beyond the size, and interrupted takes', async () => {
    const first = setup({ pools: [{ image: IMAGE, size: 3 }] });
    await first.pool.start();
    await full(first.pool);
    // A take interrupted after recording the sandbox but before it was running.
    const [interrupted] = await members(first.runtime);
    const now = new Date();
    first.store.insertSandbox({
      id: interrupted!.id,
      image: IMAGE,
      status: 'creating',
      config: { image: IMAGE },
      createdAt: now,
      expiresAt: now,
    });

    const second = await restart(first.runtime, first.store, [{ image: IMAGE, size: 1 }]);
    expect(second.report.removedHalfCreated).toEqual([interrupted!.id]);
    expect(second.store.getSandbox(interrupted!.id)).toBeUndefined();
    await full(second.pool);
    expect((await members(first.runtime)).length).toBe(1);

    const third = await restart(first.runtime, first.store, []);
    expect(await first.runtime.list()).toEqual([]);
    expect(third.pool.stats()).toMatchObject({ target: 0, ready: 0 });
  });

  it('retires members whose profile changed', async () => {
    const first = setup({ pools: [{ image: IMAGE, size: 1 }] });
    await first.pool.start();
    await full(first.pool);
    const [old] = await members(first.runtime);
    const second = setup({
      runtime: first.runtime,
      store: first.store,
      pools: [{ image: IMAGE, size: 1 }],
      policy: { defaultPidLimit: 100 },
    });
    await second.pool.start(await members(first.runtime));
    await full(second.pool);
    const now = await members(first.runtime);
    expect(now).toHaveLength(1);
    expect(now[0]?.id).not.toBe(old?.id);
    expect(now[0]?.config?.pidLimit).toBe(100);
    await second.pool.drain();
  });
});
