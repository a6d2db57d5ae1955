/** Pause and resume, activity-aware lifetimes, the idle action, fork and the admission gate, over the fake. */
import { describe, expect, it } from 'vitest';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import { silentLogger } from '../logger.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { testPolicy } from '../test-support/policy.js';
import type { Clock } from './clock.js';
import { Engine, type EngineOptions } from './engine.js';
import type { LifetimePolicy } from './lifetimes.js';
import { reconcile } from './reconcile.js';
import { StatusWatcher } from './status-watcher.js';

class ManualClock implements Clock {
  constructor(private time = Date.parse('2026-05-01T00:00:00Z')) {}
  now(): Date {
    return new Date(this.time);
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

function setup(lifetimes: Partial<LifetimePolicy> = {}, extra: Partial<EngineOptions> = {}) {
  const runtime = new FakeRuntime();
  const store = new SqliteStore(':memory:');
  const clock = new ManualClock();
  const engine = new Engine({
    runtime,
    store,
    policy: testPolicy(),
    maxSandboxes: 10,
    logger: silentLogger,
    clock,
    lifetimes,
    ...extra,
  });
  return { runtime, store, clock, engine };
}

async function codeOf(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
  } catch (error) {
    return isBurrowError(error) ? error.code : 'NOT_A_BURROW_ERROR';
  }
  return undefined;
}

const MINUTE = 60_000;

describe('pause and resume', () => {
  it('pauses and resumes; exec and files resume a paused sandbox by default', async () => {
    const { engine, runtime } = setup();
    const { id } = await engine.create({});
    await engine.writeFile(id, '/tmp/a', 'kept');
    expect((await engine.pause(id)).status).toBe('paused');
    expect((await engine.pause(id)).status).toBe('paused');
    expect((await runtime.info(id)).status).toBe('paused');
    expect(engine.list()[0]?.pausedAt).toBeInstanceOf(Date);
    const result = await engine.exec(id, { cmd: ['cat', '/tmp/a'] });
    expect(result.stdout.toString()).toBe('kept');
    expect((await engine.get(id)).status).toBe('running');
    expect(engine.list()[0]?.pausedAt).toBeUndefined();
    await engine.pause(id);
    await engine.readFile(id, '/tmp/a');
    expect((await runtime.info(id)).status).toBe('running');
  });

  it('answers 409 on a paused sandbox when auto_resume is off; resume and start continue it', async () => {
    const { engine } = setup({ autoResume: false });
    const { id } = await engine.create({});
    await engine.pause(id);
    const error = await engine.exec(id, { cmd: ['true'] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BurrowError);
    expect(error).toMatchObject({ code: 'SANDBOX_NOT_RUNNING', details: { status: 'paused' } });
    expect((error as Error).message).toMatch(/paused: resume it first/);
    expect(await codeOf(engine.writeFile(id, '/tmp/x', 'x'))).toBe('SANDBOX_NOT_RUNNING');
    expect((await engine.resume(id)).status).toBe('running');
    await engine.pause(id);
    expect((await engine.start(id)).status).toBe('running');
  });

  it('refuses to pause or resume a stopped sandbox, and destroys a paused one', async () => {
    const { engine } = setup();
    const { id } = await engine.create({});
    await engine.stop(id);
    expect(await codeOf(engine.pause(id))).toBe('SANDBOX_NOT_RUNNING');
    expect(await codeOf(engine.resume(id))).toBe('SANDBOX_NOT_RUNNING');
    expect(await codeOf(engine.pause('00000000000000000000'))).toBe('SANDBOX_NOT_FOUND');
    await engine.start(id);
    await engine.pause(id);
    await engine.destroy(id);
    expect(engine.list()).toEqual([]);
  });

  it('follows pauses made outside Burrow, and keeps paused sandboxes paused across a restart', async () => {
    const { engine, runtime, store } = setup();
    const watcher = new StatusWatcher(engine, runtime, silentLogger);
    watcher.start();
    const { id } = await engine.create({});
    await new Promise((resolve) => setTimeout(resolve, 20));
    await runtime.pause(id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await engine.get(id)).status).toBe('paused');
    await runtime.resume(id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await engine.get(id)).status).toBe('running');
    await engine.pause(id);
    await watcher.stop();
    const report = await reconcile(runtime, store, silentLogger);
    expect(report.adopted).toEqual([id]);
    expect(store.getSandbox(id)).toMatchObject({ status: 'paused' });
    expect((await runtime.info(id)).status).toBe('paused');
  });
});

describe('lifetimes', () => {
  it('extends the expiry on activity by idle_timeout, up to the maximum lifetime', async () => {
    const { engine, clock } = setup({ idleTimeoutMs: 10 * MINUTE, maxLifetimeMs: 60 * MINUTE });
    const { id, expiresAt } = await engine.create({ timeoutMs: 5 * MINUTE });
    const created = clock.now().getTime();
    expect(expiresAt?.getTime()).toBe(created + 5 * MINUTE);
    clock.advance(4 * MINUTE);
    await engine.exec(id, { cmd: ['true'] });
    const record = await engine.get(id);
    expect(record.lastActivityAt?.getTime()).toBe(created + 4 * MINUTE);
    expect(record.expiresAt?.getTime()).toBe(created + 14 * MINUTE);
    // Used all along, it still ends at the maximum lifetime from creation.
    for (let minute = 0; minute < 70; minute += 9) {
      clock.advance(9 * MINUTE);
      engine.touch(id);
    }
    expect((await engine.get(id)).expiresAt?.getTime()).toBe(created + 60 * MINUTE);
  });

  it('keeps Den fixed lifetimes when idle_timeout is off, but still records activity', async () => {
    const { engine, clock } = setup();
    const { id, expiresAt } = await engine.create({});
    clock.advance(MINUTE);
    await engine.writeFile(id, '/tmp/x', 'x');
    const record = await engine.get(id);
    expect(record.expiresAt?.getTime()).toBe(expiresAt?.getTime());
    expect(record.lastActivityAt?.getTime()).toBe(clock.now().getTime());
  });

  it('pauses (or stops) a sandbox idle for idle_action_after, idlest first', async () => {
    const { engine, clock } = setup({ idleActionAfterMs: 5 * MINUTE });
    const busy = await engine.create({});
    const idle = await engine.create({});
    clock.advance(3 * MINUTE);
    engine.touch(busy.id);
    clock.advance(3 * MINUTE);
    expect(await engine.applyIdlePolicy()).toEqual([idle.id]);
    expect((await engine.get(idle.id)).status).toBe('paused');
    expect((await engine.get(busy.id)).status).toBe('running');

    const stopping = setup({ idleActionAfterMs: MINUTE, idleAction: 'stop' });
    const sandbox = await stopping.engine.create({});
    stopping.clock.advance(MINUTE);
    expect(await stopping.engine.applyIdlePolicy()).toEqual([sandbox.id]);
    expect((await stopping.engine.get(sandbox.id)).status).toBe('stopped');
  });

  it('stops the lifetime clock while paused when expire_while_paused is off', async () => {
    const { engine, clock } = setup({ expireWhilePaused: false });
    const { id, expiresAt } = await engine.create({ timeoutMs: 10 * MINUTE });
    await engine.pause(id);
    clock.advance(30 * MINUTE);
    expect(await engine.reapExpired()).toEqual([]);
    const resumed = await engine.resume(id);
    expect(resumed.expiresAt?.getTime()).toBe((expiresAt?.getTime() ?? 0) + 30 * MINUTE);
    clock.advance(10 * MINUTE);
    expect(await engine.reapExpired()).toEqual([id]);

    const running = setup();
    const other = await running.engine.create({ timeoutMs: 10 * MINUTE });
    await running.engine.pause(other.id);
    running.clock.advance(10 * MINUTE);
    expect(await running.engine.reapExpired()).toEqual([other.id]);
  });
});

describe('fork', () => {
  it('makes independent copies with their own ids, without host ports, counted toward the limit', async () => {
    const { engine, runtime } = setup(
      {},
      { maxSandboxes: 4, policy: { ...testPolicy(), defaultNetworkMode: 'bridge' } },
    );
    const original = await engine.create({
      env: { A: '1' },
      ports: [{ sandboxPort: 80, hostPort: 18080 }],
      timeoutMs: 20 * MINUTE,
      networkMode: 'bridge',
      egress: { allow: ['api.example.com'] },
      secrets: [{ host: 'api.example.com', header: 'Authorization', value: 'Bearer x' }],
    });
    await engine.writeFile(original.id, '/tmp/state', 'v1');
    const copies = await engine.fork(original.id, 2);
    expect(copies).toHaveLength(2);
    expect(new Set(copies.map((copy) => copy.id)).size).toBe(2);
    for (const copy of copies) {
      expect(copy).toMatchObject({ status: 'running', image: original.image });
      expect(copy.config.ports).toBeUndefined();
      expect(copy.config.secrets).toBeUndefined();
      expect(copy.config.env).toEqual({ A: '1' });
      expect((copy.expiresAt?.getTime() ?? 0) - copy.createdAt.getTime()).toBe(20 * MINUTE);
      const file = await engine.readFile(copy.id, '/tmp/state');
      expect(file.info.size).toBe(2);
    }
    expect((await runtime.listSnapshots()).length).toBe(0);
    // One slot left: a fork of two is refused whole.
    expect(await codeOf(engine.fork(original.id, 2))).toBe('SANDBOX_LIMIT_REACHED');
    expect(engine.list()).toHaveLength(3);
    expect(await codeOf(engine.fork(original.id, 0))).toBe('VALIDATION_FAILED');
    expect(await codeOf(engine.fork(original.id, 21))).toBe('VALIDATION_FAILED');
    await engine.pause(original.id);
    expect((await engine.fork(original.id, 1)).length).toBe(1);
  });

  it('leaves no record when the runtime fails', async () => {
    const { engine, runtime } = setup();
    const { id } = await engine.create({});
    runtime.fork = () => Promise.reject(new BurrowError('INTERNAL', 'boom'));
    expect(await codeOf(engine.fork(id, 3))).toBe('INTERNAL');
    expect(engine.list().map((record) => record.id)).toEqual([id]);
  });
});

describe('admission gate', () => {
  it('refuses creates, restores and forks while the gate is closed', async () => {
    let open = true;
    const { engine } = setup(
      {},
      {
        admissionGate: () => {
          if (!open) throw new BurrowError('MEMORY_PRESSURE', 'host under critical memory pressure');
        },
      },
    );
    const { id } = await engine.create({});
    const snapshot = await engine.createSnapshot(id, 's');
    open = false;
    expect(await codeOf(engine.create({}))).toBe('MEMORY_PRESSURE');
    expect(await codeOf(engine.restoreSnapshot(snapshot.id))).toBe('MEMORY_PRESSURE');
    expect(await codeOf(engine.fork(id, 1))).toBe('MEMORY_PRESSURE');
    expect(engine.list()).toHaveLength(1);
    open = true;
    await expect(engine.create({})).resolves.toMatchObject({ status: 'running' });
  });
});
