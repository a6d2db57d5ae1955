/**
 * The engine over the real Docker runtime and a real SQLite file: status truth from Docker's events, and boot
 * reconcile after the server's state and the engine's containers disagree.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../ids.js';
import { silentLogger } from '../logger.js';
import { BUSYBOX_IMAGE, testDockerRuntime } from '../test-support/docker-runtime.js';
import type { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { Engine } from './engine.js';
import { reconcile } from './reconcile.js';
import { StatusWatcher } from './status-watcher.js';
import { testPolicy as defaultTestPolicy } from '../test-support/policy.js';

const policy = defaultTestPolicy({ defaultImage: BUSYBOX_IMAGE, defaultNetworkMode: 'none' });

let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
let dataDir: string;

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('socket'));
  dataDir = mkdtempSync(join(tmpdir(), 'burrow-engine-test-'));
});

afterAll(async () => {
  for (const info of await runtime.list()) await runtime.remove(info.id);
  await cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function engineOn(file: string) {
  const store = new SqliteStore(join(dataDir, file));
  const engine = new Engine({
    runtime,
    store,
    policy,
    maxSandboxes: 20,
    logger: silentLogger,
  });
  return { store, engine };
}

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('engine on Docker', () => {
  it('reads stopped within a second when the main process dies, and error when it is OOM-killed', async () => {
    const { engine } = engineOn('status.db');
    const watcher = new StatusWatcher(engine, runtime, silentLogger);
    watcher.start();
    try {
      const exiting = await engine.create({ cmd: ['sh', '-c', 'sleep 1; exit 0'] });
      expect(exiting.status).toBe('running');
      // Only the watcher can see this (nothing else looks until a restart); generous, as the machine may be loaded.
      await waitFor(async () => (await engine.get(exiting.id)).status === 'stopped', 15_000);

      const hog = await engine.create({
        memory: 16 * 1024 * 1024,
        cmd: ['sh', '-c', 'sleep 1; head -c 100000000 /dev/zero | tail > /dev/null'],
      });
      await waitFor(async () => (await engine.get(hog.id)).status === 'error', 10_000);
      await engine.destroy(exiting.id);
      await engine.destroy(hog.id);
    } finally {
      await watcher.stop();
    }
  });

  it('after a crash, re-adopts live sandboxes with their config, marks dead ones, removes unrecorded ones', async () => {
    const before = engineOn('crash.db');
    const live = await before.engine.create({
      env: { KEPT: 'yes' },
      memory: 64 * 1024 * 1024,
      labels: { team: 'a' },
    });
    const dying = await before.engine.create({});
    before.store.close();
    // While the server is down: one sandbox dies, and a container appears that the store never recorded.
    await runtime.stop(dying.id, 1000);
    const stray = newSandboxId();
    await runtime.create(stray, { image: BUSYBOX_IMAGE });
    await runtime.start(stray);

    const after = engineOn('crash.db');
    const report = await reconcile(runtime, after.store, silentLogger);
    expect(report.adopted).toContain(live.id);
    expect(report.marked).toContain(dying.id);
    expect(report.removedOrphans).toContain(stray);
    await expect(runtime.info(stray)).rejects.toMatchObject({ code: 'SANDBOX_NOT_FOUND' });

    const adopted = await after.engine.get(live.id);
    expect(adopted).toMatchObject({ status: 'running' });
    expect(adopted.config.labels).toEqual({ team: 'a' });
    expect(adopted.config.memory).toBe(64 * 1024 * 1024);
    const env = await after.engine.exec(live.id, { cmd: ['env'] });
    expect(env.stdout.toString().split('\n')).toContain('KEPT=yes');
    expect((await after.engine.get(dying.id)).status).toBe('stopped');
    await after.engine.destroy(live.id);
    await after.engine.destroy(dying.id);
    after.store.close();
  });
});
