/**
 * Waits on sandboxes have deadlines in the engine too: the reaper's sweeps never overlap, a sandbox whose destroy
 * hangs is logged, marked and passed over (by the reaper and by shutdown's destroy-all), and the other sandboxes
 * are still destroyed.
 */
import { describe, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { testPolicy } from '../test-support/policy.js';
import type { Clock } from './clock.js';
import { Engine } from './engine.js';
import { Reaper } from './reaper.js';

/** A runtime whose `remove` never answers for the sandboxes in `stuck`: a container the engine cannot kill. */
class StuckRuntime extends FakeRuntime {
  readonly stuck = new Set<string>();
  readonly removeCalls: string[] = [];

  override remove(id: string): Promise<void> {
    this.removeCalls.push(id);
    if (this.stuck.has(id)) return new Promise<never>(() => undefined);
    return super.remove(id);
  }
}

function recordingLogger() {
  const errors: string[] = [];
  const logger: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (_details: object, message?: string) => void errors.push(message ?? ''),
    child: () => logger,
  };
  return { logger, errors };
}

function setup(destroyDeadlineMs: number) {
  const runtime = new StuckRuntime();
  const store = new SqliteStore(':memory:');
  let time = Date.parse('2026-05-01T00:00:00Z');
  const clock: Clock = { now: () => new Date(time) };
  const { logger, errors } = recordingLogger();
  const engine = new Engine({
    runtime,
    store,
    policy: testPolicy(),
    maxSandboxes: 10,
    logger,
    clock,
    destroyDeadlineMs,
  });
  return { runtime, store, engine, errors, advance: (ms: number) => (time += ms) };
}

describe('the reaper past a stuck sandbox', () => {
  it('destroys the others, marks the stuck one, and does not start its destroy again', async () => {
    const { runtime, engine, errors, advance } = setup(50);
    const first = await engine.create({ timeoutMs: 60_000 });
    const stuck = await engine.create({ timeoutMs: 60_000 });
    const last = await engine.create({ timeoutMs: 60_000 });
    runtime.stuck.add(stuck.id);
    advance(61_000);

    const started = performance.now();
    expect(await engine.reapExpired()).toEqual([first.id, last.id]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(engine.list().map((record) => record.id)).toEqual([stuck.id]);
    expect(engine.list()[0]).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/destroy did not finish within 50 ms/) as string,
    });
    expect(errors).toContain(
      'destroying a sandbox did not finish in time: moving on (it goes on in the background)',
    );

    // The next sweep leaves the destroy that is still running alone.
    expect(await engine.reapExpired()).toEqual([]);
    expect(runtime.removeCalls.filter((id) => id === stuck.id)).toHaveLength(1);
  }, 5000);

  it('never runs two sweeps at once, however long one takes', async () => {
    let running = 0;
    let most = 0;
    let sweeps = 0;
    const slow = {
      reapExpired: async () => {
        running += 1;
        sweeps += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 60));
        running -= 1;
        return [];
      },
      applyIdlePolicy: () => Promise.resolve([]),
    };
    const reaper = new Reaper(slow, 5, recordingLogger().logger);
    reaper.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await reaper.stop();
    expect(sweeps).toBeGreaterThanOrEqual(3);
    expect(most).toBe(1);
    const after = sweeps;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sweeps).toBe(after);
  });
});

describe('shutdown past a stuck sandbox', () => {
  it('destroyAll waits for each sandbox at most the deadline and names the ones left', async () => {
    const { runtime, engine } = setup(50);
    const ok = await engine.create({});
    const stuck = await engine.create({});
    runtime.stuck.add(stuck.id);
    const started = performance.now();
    expect(await engine.destroyAll()).toEqual([stuck.id]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(engine.list().map((record) => record.id)).toEqual([stuck.id]);
    expect(await runtime.list()).not.toContainEqual(expect.objectContaining({ id: ok.id }));
  }, 5000);
});
