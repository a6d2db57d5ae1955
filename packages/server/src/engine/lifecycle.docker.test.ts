/**
 * Pause, resume and memory-pressure throttling on the real engine: a running loop keeps its counter across a
 * pause, a paused sandbox stays paused across a server restart, and the monitor's soft limit reaches the
 * container's cgroup and is lifted again.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { detectCgroupVersion } from '../runtime/docker/cgroups.js';
import type { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { BUSYBOX_IMAGE, testDockerRuntime } from '../test-support/docker-runtime.js';
import { testPolicy } from '../test-support/policy.js';
import { Engine } from './engine.js';
import { scoreThresholds } from './pressure/levels.js';
import { PressureMonitor, type HostMemorySample } from './pressure/monitor.js';
import { pressureTargets } from './pressure/targets.js';
import { reconcile } from './reconcile.js';
import { StatusWatcher } from './status-watcher.js';

const policy = testPolicy({ defaultImage: BUSYBOX_IMAGE, defaultNetworkMode: 'none' });
const docker = new Dockerode();
/** cgroup v1 here (Docker 20.10 on a hybrid host); v2 hosts keep the same facts in other files. */
const V2 = detectCgroupVersion('/sys/fs/cgroup') === 'v2';
const COUNTER = ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.1; done'];

let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
let dataDir: string;

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('socket'));
  dataDir = mkdtempSync(join(tmpdir(), 'burrow-lifecycle-test-'));
});

afterAll(async () => {
  for (const info of await runtime.list()) await runtime.remove(info.id);
  await cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function engineOn(file: string, autoResume = true) {
  const store = new SqliteStore(join(dataDir, file));
  const engine = new Engine({
    runtime,
    store,
    policy,
    maxSandboxes: 20,
    logger: silentLogger,
    lifetimes: { autoResume },
  });
  return { store, engine };
}

async function counter(engine: Engine, id: string): Promise<number> {
  const result = await engine.exec(id, { cmd: ['cat', '/tmp/counter'] });
  return Number(result.stdout.toString().trim());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The counter once the loop has written it (the main process may start a moment after create returns). */
async function counting(engine: Engine, id: string): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await counter(engine, id);
    if (value > 0 || Date.now() > deadline) return value;
    await sleep(100);
  }
}

async function containerOf(id: string) {
  return docker.getContainer(`burrow-${id}`).inspect();
}

describe('pause and resume on Docker', () => {
  it('freezes a running loop and continues its counter where it was', async () => {
    const { engine, store } = engineOn('pause.db', false);
    const { id } = await engine.create({ cmd: COUNTER });
    const before = await counting(engine, id);
    expect(before).toBeGreaterThan(0);
    await engine.pause(id);
    const inspect = await containerOf(id);
    expect(inspect.State).toMatchObject({ Paused: true, Status: 'paused' });
    if (!V2) {
      const freezer = `/sys/fs/cgroup/freezer/docker/${inspect.Id}/freezer.state`;
      expect(readFileSync(freezer, 'utf8').trim()).toBe('FROZEN');
    }
    await expect(engine.exec(id, { cmd: ['true'] })).rejects.toMatchObject({ code: 'SANDBOX_NOT_RUNNING' });
    await sleep(1500);
    await engine.resume(id);
    const after = await counter(engine, id);
    // Frozen for 1.5 s: the loop (10 increments a second) advanced by at most a few steps, and did not restart.
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after - before).toBeLessThan(5);
    // It runs again: a second later (10 steps unloaded), it has moved on by more than a pause could hide.
    await sleep(1000);
    expect(await counter(engine, id)).toBeGreaterThan(after + 2);
    await engine.destroy(id);
    store.close();
  });

  it('keeps a paused sandbox paused across a server restart; using it resumes it', async () => {
    const first = engineOn('restart.db');
    const { id } = await first.engine.create({ cmd: COUNTER });
    const before = await counting(first.engine, id);
    await first.engine.pause(id);
    first.store.close();

    // A new server: a fresh store handle on the same file, boot reconcile, and the status watcher.
    const second = engineOn('restart.db');
    const report = await reconcile(runtime, second.store, silentLogger);
    expect(report.adopted).toContain(id);
    expect(second.store.getSandbox(id)).toMatchObject({ status: 'paused' });
    expect((await runtime.info(id)).status).toBe('paused');
    const watcher = new StatusWatcher(second.engine, runtime, silentLogger);
    watcher.start();
    try {
      const after = await counter(second.engine, id);
      expect(after - before).toBeLessThan(5);
      expect((await second.engine.get(id)).status).toBe('running');
      // A pause made outside Burrow reaches the record through Docker's events.
      await docker.getContainer(`burrow-${id}`).pause();
      const started = Date.now();
      while ((await second.engine.get(id)).status !== 'paused' && Date.now() - started < 5000)
        await sleep(20);
      expect((await second.engine.get(id)).status).toBe('paused');
      await second.engine.destroy(id);
    } finally {
      await watcher.stop();
      second.store.close();
    }
  });
});

describe('memory pressure on Docker', () => {
  it('applies a soft limit to a real container at high pressure and lifts it at normal', async () => {
    const { engine, store } = engineOn('pressure.db');
    const { id } = await engine.create({ memory: 256 * 1024 * 1024 });
    // A scripted 1 GiB host: 85 % used, then 30 %.
    const available = 20480 * 8000; // L = 0.8 × available / 1 sandbox = 131072000 bytes, page-aligned
    let sample: HostMemorySample = { total: 1024 ** 3, available };
    const monitor = new PressureMonitor({
      source: { sample: () => Promise.resolve(sample) },
      targets: pressureTargets(engine, runtime),
      scoreThresholds: scoreThresholds(0.8, 0.9),
      stallThresholds: { warning: 10, high: 30, critical: 10 },
      intervalMs: 5000,
      autoThrottle: true,
      minMemoryFloor: 32 * 1024 * 1024,
      pauseIdleAfterMs: 0,
      clock: { now: () => new Date() },
      logger: silentLogger,
    });
    await monitor.tick();
    await monitor.tick();
    expect(monitor.level).toBe('high');
    const limit = 131072000;
    let inspect = await containerOf(id);
    if (!V2) expect(inspect.HostConfig.MemoryReservation).toBe(limit);
    // The hard limit is untouched: nothing is OOM-killed by the throttle.
    expect(inspect.HostConfig.Memory).toBe(256 * 1024 * 1024);
    const memory = await runtime.memory(id);
    expect(memory.softLimit).toBe(limit);
    expect(memory.usage).toBeGreaterThan(0);
    const cgroupFile = V2
      ? `/sys/fs/cgroup/system.slice/docker-${inspect.Id}.scope/memory.high`
      : `/sys/fs/cgroup/memory/docker/${inspect.Id}/memory.soft_limit_in_bytes`;
    expect(existsSync(cgroupFile)).toBe(true);
    expect(Number(readFileSync(cgroupFile, 'utf8'))).toBe(limit);

    sample = { total: 1024 ** 3, available: 0.7 * 1024 ** 3 };
    await monitor.tick();
    await monitor.tick();
    expect(monitor.level).toBe('normal');
    inspect = await containerOf(id);
    if (!V2) expect(inspect.HostConfig.MemoryReservation ?? 0).toBeLessThanOrEqual(0);
    expect((await runtime.memory(id)).softLimit).toBe(0);
    const lifted = readFileSync(cgroupFile, 'utf8').trim();
    expect(V2 ? lifted === 'max' : Number(lifted) > 2 ** 62).toBe(true);
    expect(monitor.state().actions.map((action) => action.action)).toEqual([
      'warm_pool_release',
      'throttle',
      'unthrottle',
    ]);
    await engine.destroy(id);
    store.close();
  });
});
