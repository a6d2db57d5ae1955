/**
 * The warm pool on the real engine: a pooled create is served by a pre-created container that works and has the
 * request's env and limits; a restore of it is an ordinary sandbox; and after a crash (no drain), boot reconcile
 * leaves no container that is neither a recorded sandbox nor an idle pool member.
 */
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import type { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import { containerName } from '../runtime/docker/labels.js';
import type { SandboxInfo } from '../runtime/runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { DEFAULT_TMPFS } from '../storage/tmpfs.js';
import { BUSYBOX_IMAGE, testDockerRuntime } from '../test-support/docker-runtime.js';
import { testPolicy } from '../test-support/policy.js';
import { admit } from './admission.js';
import { Engine } from './engine.js';
import { reconcile } from './reconcile.js';
import { WarmPool } from './warm-pool.js';

const docker = new Dockerode();
const policy = testPolicy({
  defaultImage: BUSYBOX_IMAGE,
  defaultTimeoutMs: 10 * 60_000,
  defaultMemory: 256 * 1024 * 1024,
  defaultNetworkMode: 'none',
});

let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
/** Each test's state file; a restart within a test keeps it, as a real restart does. */
let store = new SqliteStore(':memory:');

function boot(size: number) {
  const pool = new WarmPool({
    runtime,
    pools: [{ image: BUSYBOX_IMAGE, size }],
    profile: (image) => admit({ image }, policy).config,
    defaultTmpfs: DEFAULT_TMPFS,
    logger: silentLogger,
  });
  const engine = new Engine({
    runtime,
    store,
    policy,
    maxSandboxes: 20,
    logger: silentLogger,
    warmPool: pool,
  });
  return { pool, engine };
}

async function full(pool: WarmPool): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    await pool.settled();
    const stats = pool.stats();
    if (stats.ready === stats.target && stats.creating === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the pool did not fill: ${JSON.stringify(pool.stats())}`);
}

/** Containers of this test's installation that are neither recorded sandboxes nor idle pool members. */
async function orphans(idle: readonly string[]): Promise<string[]> {
  const ids = (await runtime.list()).map((info) => info.id);
  return ids.filter((id) => store.getSandbox(id) === undefined && !idle.includes(id));
}

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('socket'));
});

afterAll(async () => {
  for (const info of await runtime.list()) await runtime.remove(info.id);
  for (const snapshot of await runtime.listSnapshots()) await runtime.removeSnapshot(snapshot.id);
  store.close();
  await cleanup();
});

describe('warm pool on Docker', () => {
  it('serves a pooled create from the pool: it runs commands with the env and limits asked for', async () => {
    const { pool, engine } = boot(2);
    await pool.start();
    await full(pool);
    const idle = (await runtime.list()).filter((info) => info.pool !== undefined).map((info) => info.id);
    expect(idle).toHaveLength(2);

    const sandbox = await engine.create({
      env: { GREETING: 'from-the-pool' },
      labels: { team: 'bench' },
      cpu: 500_000_000,
      memory: 128 * 1024 * 1024,
      pidLimit: 64,
    });
    expect(idle).toContain(sandbox.id);
    expect(sandbox.config.labels).toEqual({ team: 'bench' });
    const echo = await engine.exec(sandbox.id, { cmd: ['echo', 'hi'] });
    expect(echo.stdout.toString()).toBe('hi\n');
    const env = await engine.exec(sandbox.id, { cmd: ['env'] });
    expect(env.stdout.toString().split('\n')).toContain('GREETING=from-the-pool');
    const host = (await docker.getContainer(containerName(sandbox.id)).inspect()).HostConfig;
    expect(host.NanoCpus).toBe(500_000_000);
    expect(host.Memory).toBe(128 * 1024 * 1024);
    expect(host.PidsLimit).toBe(64);
    expect((await engine.stats(sandbox.id)).memoryLimit).toBe(128 * 1024 * 1024);
    // The cgroup inside agrees.
    const cgroup = await engine.exec(sandbox.id, {
      cmd: [
        'sh',
        '-c',
        'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
      ],
    });
    expect(cgroup.stdout.toString().trim()).toBe(String(128 * 1024 * 1024));

    // A snapshot of it restores into an ordinary sandbox (the image inherits the container's labels).
    await engine.writeFile(sandbox.id, '/tmp/kept.txt', 'kept');
    const snapshot = await engine.createSnapshot(sandbox.id, 'pooled');
    const restored = await engine.restoreSnapshot(snapshot.id);
    expect((await runtime.info(restored.id)).pool).toBeUndefined();
    expect(restored.config).toMatchObject({ env: { GREETING: 'from-the-pool' }, labels: { team: 'bench' } });
    const restoredEnv = await engine.exec(restored.id, { cmd: ['env'] });
    expect(restoredEnv.stdout.toString().split('\n')).toContain('GREETING=from-the-pool');
    expect((await docker.getContainer(containerName(restored.id)).inspect()).HostConfig.Memory).toBe(
      128 * 1024 * 1024,
    );
    await engine.destroy(restored.id);
    await engine.deleteSnapshot(snapshot.id);

    // A create that needs a create-time setting is cold, and works too.
    const cold = await engine.create({ workdir: '/tmp' });
    expect(idle).not.toContain(cold.id);
    expect((await engine.exec(cold.id, { cmd: ['pwd'] })).stdout.toString()).toBe('/tmp\n');

    await full(pool);
    await pool.drain();
    await engine.destroy(cold.id);
    await engine.destroy(sandbox.id);
    expect(await runtime.list()).toEqual([]);
  });

  it('after a crash, reconcile and the pool leave no orphan behind', async () => {
    store.close();
    store = new SqliteStore(':memory:');
    const first = boot(3);
    await first.pool.start();
    await full(first.pool);
    const taken = await first.engine.create({ env: { A: '1' } });
    await full(first.pool);
    // An interrupted take: recorded as creating, the container still marked as a member.
    const interrupted = (await runtime.list()).find(
      (info) => info.pool !== undefined && info.id !== taken.id,
    );
    if (interrupted === undefined) throw new Error('no idle member');
    const now = new Date();
    store.insertSandbox({
      id: interrupted.id,
      image: BUSYBOX_IMAGE,
      status: 'creating',
      config: { image: BUSYBOX_IMAGE },
      createdAt: now,
    });
    // The process dies here: nothing is drained.

    const second = boot(2);
    const leftovers: SandboxInfo[] = [];
    const report = await reconcile(runtime, store, silentLogger, {
      isForeign: (info) => info.pool !== undefined && leftovers.push(info) > 0,
    });
    await second.pool.start(leftovers);
    expect(report.adopted).toEqual([taken.id]);
    expect(report.removedHalfCreated).toEqual([interrupted.id]);
    expect(report.removedOrphans).toEqual([]);
    await full(second.pool);
    const idle = (await runtime.list()).filter(
      (info) => info.pool !== undefined && store.getSandbox(info.id) === undefined,
    );
    expect(idle).toHaveLength(2);
    expect(await orphans(idle.map((info) => info.id))).toEqual([]);
    // The taken one is an ordinary sandbox: its env still applies.
    const env = await second.engine.exec(taken.id, { cmd: ['env'] });
    expect(env.stdout.toString().split('\n')).toContain('A=1');

    await second.pool.drain();
    await second.engine.destroy(taken.id);
    expect(await runtime.list()).toEqual([]);
  });
});
