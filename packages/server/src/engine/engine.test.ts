import { describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import { silentLogger } from '../logger.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { SandboxPolicy } from './admission.js';
import type { Clock } from './clock.js';
import { Engine } from './engine.js';
import { reconcile } from './reconcile.js';
import { StatusWatcher } from './status-watcher.js';
import { testPolicy as defaultTestPolicy } from '../test-support/policy.js';

export const testPolicy = defaultTestPolicy();

class ManualClock implements Clock {
  constructor(private time = Date.parse('2026-05-01T00:00:00Z')) {}
  now(): Date {
    return new Date(this.time);
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

function setup(options: { maxSandboxes?: number; policy?: Partial<SandboxPolicy> } = {}) {
  const runtime = new FakeRuntime();
  const store = new SqliteStore(':memory:');
  const clock = new ManualClock();
  const engine = new Engine({
    runtime,
    store,
    policy: { ...testPolicy, ...options.policy },
    maxSandboxes: options.maxSandboxes ?? 10,
    logger: silentLogger,
    clock,
  });
  return { runtime, store, clock, engine };
}

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return isBurrowError(error) ? error.code : 'NOT_A_BURROW_ERROR';
  }
  return undefined;
}

describe('Engine admission', () => {
  it('applies server defaults and records the sandbox', async () => {
    const { engine, store, clock } = setup();
    const sandbox = await engine.create({});
    expect(sandbox.status).toBe('running');
    expect(sandbox.image).toBe('fake/image');
    expect(sandbox.id).toMatch(/^[0-9a-v]{20}$/);
    expect(sandbox.config.pidLimit).toBe(256);
    expect(sandbox.config.networkMode).toBe('internal');
    expect(sandbox.expiresAt?.getTime()).toBe(clock.now().getTime() + 30 * 60_000);
    expect(store.getSandbox(sandbox.id)?.status).toBe('running');
  });

  it('refuses to exceed max_sandboxes, counting running and paused ones (not stopped), even when creates race', async () => {
    const { engine } = setup({ maxSandboxes: 3 });
    const results = await Promise.allSettled(Array.from({ length: 6 }, () => engine.create({})));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(3);
    const [first, second] = engine.list();
    if (first === undefined || second === undefined) throw new Error('no sandbox');
    await engine.pause(second.id);
    expect(await codeOf(engine.create({}))).toBe('SANDBOX_LIMIT_REACHED');
    // A stopped sandbox holds no memory or CPU: its slot is free (Den counted it).
    await engine.stop(first.id);
    await expect(engine.create({})).resolves.toMatchObject({ status: 'running' });
    expect(await codeOf(engine.create({}))).toBe('SANDBOX_LIMIT_REACHED');
    // Starting the stopped one would take a slot again.
    expect(await codeOf(engine.start(first.id))).toBe('SANDBOX_LIMIT_REACHED');
    await engine.destroy(second.id);
    expect(await codeOf(engine.start(first.id))).toBeUndefined();
  });

  it('keeps network isolation at or above the server default', async () => {
    const { engine } = setup();
    expect(await codeOf(engine.create({ networkMode: 'bridge' }))).toBe('POLICY_VIOLATION');
    expect(await codeOf(engine.create({ networkMode: 'None' }))).toBe('VALIDATION_FAILED');
    await expect(engine.create({ networkMode: 'none' })).resolves.toMatchObject({
      config: { networkMode: 'none' },
    });
  });

  it('validates ports, tmpfs, volumes, labels and memory with 4xx codes', async () => {
    const { engine } = setup({ policy: { allowSharedVolumes: false } });
    expect(await codeOf(engine.create({ ports: [{ sandboxPort: 0, hostPort: 80 }] }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(await codeOf(engine.create({ ports: [{ sandboxPort: 80, hostPort: 80, protocol: 'udp' }] }))).toBe(
      'VALIDATION_FAILED',
    );
    expect(
      await codeOf(
        engine.create({
          ports: [
            { sandboxPort: 80, hostPort: 80 },
            { sandboxPort: 81, hostPort: 80 },
          ],
        }),
      ),
    ).toBe('VALIDATION_FAILED');
    expect(await codeOf(engine.create({ storage: { tmpfs: [{ path: '/tmp', size: '5g' }] } }))).toBe(
      'POLICY_VIOLATION',
    );
    expect(
      await codeOf(engine.create({ storage: { tmpfs: [{ path: '/tmp', size: '1m', options: 'uid=0' }] } })),
    ).toBe('POLICY_VIOLATION');
    expect(
      await codeOf(
        engine.create({ storage: { volumes: [{ name: 'burrow-x', mountPath: '/data', readOnly: false }] } }),
      ),
    ).toBe('POLICY_VIOLATION');
    expect(await codeOf(engine.create({ labels: { 'burrow.id': 'x' } }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(engine.create({ memory: 1024 }))).toBe('VALIDATION_FAILED');
    await engine.create({ storage: { volumes: [{ name: 'shared', mountPath: '/data', readOnly: false }] } });
    expect(
      await codeOf(
        engine.create({ storage: { volumes: [{ name: 'shared', mountPath: '/data', readOnly: true }] } }),
      ),
    ).toBe('POLICY_VIOLATION');
    expect(engine.list()).toHaveLength(1);
  });

  it('releases the slot when the runtime fails to create', async () => {
    const runtime = new FakeRuntime({ images: ['fake/image'] });
    const engine = new Engine({
      runtime,
      store: new SqliteStore(':memory:'),
      policy: testPolicy,
      maxSandboxes: 1,
      logger: silentLogger,
    });
    expect(await codeOf(engine.create({ image: 'missing/image' }))).toBe('IMAGE_NOT_FOUND');
    expect(engine.list()).toEqual([]);
    await expect(engine.create({})).resolves.toMatchObject({ status: 'running' });
  });
});

describe('Engine lifetimes and status', () => {
  it('reaps expired sandboxes and honours an extended timeout', async () => {
    const { engine, clock, runtime } = setup();
    const short = await engine.create({ timeoutMs: 60_000 });
    const extended = await engine.create({ timeoutMs: 60_000 });
    clock.advance(30_000);
    engine.extendTimeout(extended.id, 120_000);
    clock.advance(31_000);
    expect(await engine.reapExpired()).toEqual([short.id]);
    expect(await codeOf(runtime.info(short.id))).toBe('SANDBOX_NOT_FOUND');
    expect(engine.list().map((record) => record.id)).toEqual([extended.id]);
    clock.advance(120_000);
    expect(await engine.reapExpired()).toEqual([extended.id]);
    expect(await codeOf(() => engine.extendTimeout(extended.id, 1000))).toBe('SANDBOX_NOT_FOUND');
  });

  it('follows runtime events: a dead main process reads error, a clean exit stopped, a stop by us stopped', async () => {
    const { engine, runtime } = setup();
    const watcher = new StatusWatcher(engine, runtime, silentLogger, 10);
    watcher.start();
    const crashed = await engine.create({});
    const oom = await engine.create({});
    const clean = await engine.create({});
    const stopped = await engine.create({});
    await new Promise((resolve) => setTimeout(resolve, 10));
    runtime.simulateDeath(crashed.id, 2);
    runtime.simulateDeath(oom.id, 137, true);
    runtime.simulateDeath(clean.id, 0);
    await engine.stop(stopped.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await watcher.stop();
    const status = (id: string) => engine.list().find((record) => record.id === id);
    expect(status(crashed.id)).toMatchObject({
      status: 'error',
      error: expect.stringContaining('code 2') as unknown,
    });
    expect(status(oom.id)).toMatchObject({
      status: 'error',
      error: expect.stringContaining('out of memory') as unknown,
    });
    expect(status(clean.id)?.status).toBe('stopped');
    expect(status(stopped.id)?.status).toBe('stopped');
    expect(status(stopped.id)?.error).toBeUndefined();
  });

  it("reads the runtime's state, not a late event: stop, start and stop again in a row read stopped", async () => {
    const { engine, runtime } = setup();
    // Events that reach the watcher late, as they may from a busy Docker engine.
    const lagging = Object.create(runtime) as FakeRuntime;
    lagging.events = async function* (signal: AbortSignal) {
      for await (const event of runtime.events(signal)) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield event;
      }
    };
    const watcher = new StatusWatcher(engine, lagging, silentLogger, 10);
    watcher.start();
    try {
      const sandbox = await engine.create({ cmd: ['sleep', '1000'] });
      await engine.stop(sandbox.id);
      await engine.start(sandbox.id);
      await engine.stop(sandbox.id);
      // The watcher now sees died, started, died: the start no longer holds, and the stops were Burrow's own.
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(engine.list()[0]).toMatchObject({ status: 'stopped' });
      expect(engine.list()[0]?.error).toBeUndefined();
    } finally {
      await watcher.stop();
    }
  });

  it('answers 409 for exec and files on a stopped sandbox and 404 for unknown ones', async () => {
    const { engine } = setup();
    const sandbox = await engine.create({});
    await engine.stop(sandbox.id);
    expect(await codeOf(engine.exec(sandbox.id, { cmd: ['true'] }))).toBe('SANDBOX_NOT_RUNNING');
    expect(await codeOf(engine.readFile(sandbox.id, '/tmp/x'))).toBe('SANDBOX_NOT_RUNNING');
    expect(await codeOf(engine.exec('nope', { cmd: ['true'] }))).toBe('SANDBOX_NOT_FOUND');
    await engine.start(sandbox.id);
    expect((await engine.exec(sandbox.id, { cmd: ['echo', 'ok'] })).stdout.toString()).toBe('ok\n');
  });
});

describe('Engine snapshots', () => {
  it('restores into a new sandbox with the original configuration; unknown snapshots are 404', async () => {
    const { engine } = setup();
    const original = await engine.create({ env: { A: '1' }, labels: { team: 'x' } });
    await engine.writeFile(original.id, '/tmp/f', 'data');
    const snapshot = await engine.createSnapshot(original.id, '');
    expect(snapshot.name).toBe('');
    expect(engine.listSnapshots(original.id).map((entry) => entry.id)).toEqual([snapshot.id]);
    const restored = await engine.restoreSnapshot(snapshot.id);
    expect(restored.id).not.toBe(original.id);
    expect(restored.config.env).toEqual({ A: '1' });
    expect(restored.config.labels).toEqual({ team: 'x' });
    expect((await engine.exec(restored.id, { cmd: ['cat', '/tmp/f'] })).stdout.toString()).toBe('data');
    await engine.deleteSnapshot(snapshot.id);
    expect(await codeOf(engine.restoreSnapshot(snapshot.id))).toBe('SNAPSHOT_NOT_FOUND');
    expect(await codeOf(engine.deleteSnapshot('snap-unknown'))).toBe('SNAPSHOT_NOT_FOUND');
  });
});

describe('reconcile', () => {
  it('re-adopts live sandboxes, marks dead ones, cleans half-created ones and removes orphans', async () => {
    const { engine, runtime, store } = setup();
    const live = await engine.create({});
    const dead = await engine.create({});
    runtime.simulateDeath(dead.id, 1);
    const gone = await engine.create({});
    await runtime.remove(gone.id);
    store.insertSandbox({
      id: 'halfcreated0000000000',
      image: 'fake/image',
      status: 'creating',
      config: { image: 'fake/image' },
      createdAt: new Date(),
    });
    await runtime.create('orphan00000000000000', { image: 'fake/image' });

    const report = await reconcile(runtime, store, silentLogger);
    expect(report.adopted).toEqual([live.id]);
    expect(report.marked.sort()).toEqual([dead.id, gone.id].sort());
    expect(report.removedHalfCreated).toEqual(['halfcreated0000000000']);
    expect(report.removedOrphans).toEqual(['orphan00000000000000']);
    expect(store.getSandbox(dead.id)?.status).toBe('stopped');
    expect(store.getSandbox(gone.id)).toMatchObject({ status: 'error' });
    expect(store.getSandbox('halfcreated0000000000')).toBeUndefined();
    expect((await runtime.list()).map((info) => info.id).sort()).toEqual([live.id, dead.id].sort());
  });
});
