/**
 * gVisor through the engine on the real engine: a create asking for it runs on runsc, a snapshot's restore and a
 * restarted server's record keep it, and a warm pool of gVisor members serves gVisor creates only.
 */
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import type { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import { containerName } from '../runtime/docker/labels.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { DEFAULT_TMPFS } from '../storage/tmpfs.js';
import { BUSYBOX_IMAGE, testDockerRuntime } from '../test-support/docker-runtime.js';
import { testPolicy } from '../test-support/policy.js';
import { admit } from './admission.js';
import { Engine } from './engine.js';
import { WarmPool } from './warm-pool.js';

const docker = new Dockerode();
const policy = testPolicy({
  defaultImage: BUSYBOX_IMAGE,
  defaultNetworkMode: 'none',
  defaultMemory: 256 * 1024 * 1024,
});
let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
const store = new SqliteStore(':memory:');

async function ociRuntime(id: string): Promise<string | undefined> {
  return (await docker.getContainer(containerName(id)).inspect()).HostConfig.Runtime;
}

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('socket'));
});

afterAll(async () => {
  for (const record of store.listSandboxes()) await runtime.remove(record.id).catch(() => undefined);
  for (const snapshot of await runtime.listSnapshots())
    await runtime.removeSnapshot(snapshot.id).catch(() => undefined);
  store.close();
  await cleanup();
});

describe('a gVisor sandbox through the engine', () => {
  it('runs on runsc, and its snapshot restores on runsc', async () => {
    const engine = new Engine({ runtime, store, policy, maxSandboxes: 10, logger: silentLogger });
    const sandbox = await engine.create({ runtime: 'gvisor' });
    expect(sandbox.config.runtime).toBe('gvisor');
    expect(await ociRuntime(sandbox.id)).toBe('runsc');
    await engine.writeFile(sandbox.id, '/tmp/mark', 'kept');
    const snapshot = await engine.createSnapshot(sandbox.id, 'g');
    const restored = await engine.restoreSnapshot(snapshot.id);
    expect(restored.config.runtime).toBe('gvisor');
    expect(await ociRuntime(restored.id)).toBe('runsc');
    const dmesg = await engine.exec(restored.id, { cmd: ['dmesg'] });
    expect(dmesg.stdout.toString()).toMatch(/gVisor/);
    expect((await engine.exec(restored.id, { cmd: ['cat', '/tmp/mark'] })).stdout.toString()).toBe('kept');
    const bridged = await engine.create({ runtime: 'gvisor', networkMode: 'none' });
    expect(await ociRuntime(bridged.id)).toBe('runsc');
    const plain = await engine.create({});
    expect(await ociRuntime(plain.id)).toBe('runc');
  });

  it('is served by a gVisor warm pool, which runc creates leave alone', async () => {
    const pool = new WarmPool({
      runtime,
      pools: [{ image: BUSYBOX_IMAGE, size: 1, runtime: 'gvisor' }],
      profile: (image, isolation) =>
        admit({ image, ...(isolation === undefined ? {} : { runtime: isolation }) }, policy).config,
      defaultTmpfs: DEFAULT_TMPFS,
      logger: silentLogger,
    });
    const engine = new Engine({
      runtime,
      store,
      policy,
      maxSandboxes: 10,
      logger: silentLogger,
      warmPool: pool,
    });
    await pool.start();
    const deadline = Date.now() + 60_000;
    while (pool.stats().ready < 1 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(pool.stats().ready).toBe(1);
    const plain = await engine.create({});
    expect(await ociRuntime(plain.id)).toBe('runc');
    expect(pool.stats().ready).toBe(1);
    const taken = await engine.create({ runtime: 'gvisor' });
    expect(await ociRuntime(taken.id)).toBe('runsc');
    expect(pool.stats().ready).toBe(0);
    await pool.drain();
  });
});
