/**
 * The server process dies or stops while sandboxes run: `kill -9` and a restart on the same data directory finds
 * every sandbox with its configuration and true status, removes what Burrow owns but has no record of; SIGTERM
 * leaves sandboxes running unless `--destroy-on-exit`.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import Dockerode from 'dockerode';
import { afterEach, describe, expect, it } from 'vitest';
import { Burrow, type Sandbox, type SandboxInfo } from '@burrow/sdk';
import {
  instanceContainers,
  removeInstance,
  spawnServer,
  type ChildServer,
} from '../support/child-server.js';
import { makeDataDir, TEST_IMAGE } from '../support/server.js';

const docker = new Dockerode();
const MIB = 1024 ** 2;

/** Servers and data directories of the current test, cleaned up whatever happened. */
let servers: ChildServer[] = [];
let dataDirs: string[] = [];
afterEach(async () => {
  for (const server of servers) {
    if (server.process.exitCode === null && server.process.signalCode === null)
      server.process.kill('SIGKILL');
    await server.exited;
    await removeInstance(server.instance);
  }
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
  servers = [];
  dataDirs = [];
});

async function start(dataDir: string, args: string[] = []): Promise<ChildServer> {
  const server = await spawnServer({ dataDir, args });
  servers.push(server);
  return server;
}

async function newDataDir(): Promise<string> {
  const dir = await makeDataDir();
  dataDirs.push(dir);
  return dir;
}

/** What must survive a restart unchanged. */
function identity(info: SandboxInfo) {
  return {
    id: info.id,
    image: info.image,
    createdAt: info.createdAt.toISOString(),
    expiresAt: info.expiresAt?.toISOString(),
    labels: info.labels,
    networkMode: info.networkMode,
  };
}

async function containerState(name: string): Promise<Dockerode.ContainerInspectInfo['State'] | 'gone'> {
  try {
    return (await docker.getContainer(name).inspect()).State;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return 'gone';
    throw error;
  }
}

/** The limits Docker enforces on a sandbox's container. */
async function limits(id: string) {
  const { HostConfig } = await docker.getContainer(`burrow-${id}`).inspect();
  return { pids: HostConfig.PidsLimit, nanoCpus: HostConfig.NanoCpus, memory: HostConfig.Memory };
}

const WORKER_LIMITS = { pids: 100, nanoCpus: 500_000_000, memory: 256 * MIB };

async function run(sandbox: Sandbox, command: string): Promise<string> {
  const result = await sandbox.commands.run(command);
  expect(result, command).toMatchObject({ exitCode: 0, stderr: '' });
  return result.stdout;
}

describe('crash recovery', () => {
  it('after kill -9, a restart re-adopts every sandbox with its config and status and removes orphans', async () => {
    const dataDir = await newDataDir();
    const first = await start(dataDir);
    const burrow = new Burrow({ url: first.url });

    const worker = await burrow.create({
      env: { ROLE: 'worker' },
      workdir: '/srv',
      labels: { suite: 'crash', role: 'worker' },
      timeoutSeconds: 1800,
      cpus: 0.5,
      memoryBytes: 256 * MIB,
      pidLimit: 100,
      networkMode: 'none',
      storage: { tmpfs: [{ path: '/data', size: '32m' }] },
    });
    await worker.files.write('/data/note', 'kept in tmpfs');
    await worker.files.write('/tmp/snap.txt', 'in the snapshot');
    const snapshot = await worker.snapshots.create('before-crash');

    const idle = await burrow.create({ env: { ROLE: 'idle' }, labels: { role: 'idle' } });
    await idle.stop();
    const doomed = await burrow.create({ labels: { role: 'doomed' } });

    const before = new Map((await burrow.list()).map((sandbox) => [sandbox.id, sandbox.info]));
    expect(before.get(worker.id)?.status).toBe('running');
    expect(before.get(idle.id)?.status).toBe('stopped');

    first.process.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    // While no server runs: one sandbox's process dies, and a container appears that carries this data
    // directory's labels but has no record (as after a crash between creating a container and recording it).
    await docker.getContainer(`burrow-${doomed.id}`).kill();
    const orphanId = `orphan${randomBytes(6).toString('hex')}`;
    const orphan = await docker.createContainer({
      name: `burrow-${orphanId}`,
      Image: 'burrow-test/busybox:latest',
      Cmd: ['sleep', '3600'],
      Labels: {
        'burrow.managed': 'true',
        'burrow.instance': first.instance,
        'burrow.id': orphanId,
        'burrow.created': new Date().toISOString(),
      },
    });
    await orphan.start();

    const second = await start(dataDir);
    expect(second.instance).toBe(first.instance);
    const again = new Burrow({ url: second.url });
    const after = new Map((await again.list()).map((sandbox) => [sandbox.id, sandbox]));
    expect([...after.keys()].sort()).toEqual([worker.id, idle.id, doomed.id].sort());
    for (const [id, info] of before) expect(identity(after.get(id)!.info)).toEqual(identity(info));
    expect(after.get(worker.id)!.info.status).toBe('running');
    expect(after.get(idle.id)!.info.status).toBe('stopped');
    expect(['stopped', 'error']).toContain(after.get(doomed.id)!.info.status);

    // The orphan is gone; the sandboxes' containers are untouched.
    expect(await containerState(`burrow-${orphanId}`)).toBe('gone');

    // The running sandbox still works, with its limits, environment, mounts and network.
    const adopted = after.get(worker.id)!;
    expect(await run(adopted, 'echo $ROLE; pwd; cat /data/note')).toBe('worker\n/srv\nkept in tmpfs');
    expect(await limits(worker.id)).toEqual(WORKER_LIMITS);
    expect((await adopted.stats()).memoryLimit).toBe(256 * MIB);
    expect((await run(adopted, 'ls /sys/class/net')).trim()).toBe('lo');

    // The stopped one starts with its own configuration.
    const restarted = after.get(idle.id)!;
    await restarted.start();
    expect(await run(restarted, 'echo $ROLE')).toBe('idle\n');

    // The snapshot is still there and restorable, and the restored sandbox keeps the original's config, which
    // only the restarted server's store can know.
    expect((await adopted.snapshots.list()).map((item) => item.id)).toEqual([snapshot.id]);
    const restored = await again.snapshots.restore(snapshot.id);
    expect(await run(restored, 'cat /tmp/snap.txt; echo; echo $ROLE; pwd')).toBe(
      'in the snapshot\nworker\n/srv\n',
    );
    expect(restored.info.labels).toMatchObject({ suite: 'crash', role: 'worker' });
    expect(restored.info.networkMode).toBe('none');
    expect(await limits(restored.id)).toEqual(WORKER_LIMITS);

    // Deleting everything leaves nothing of this data directory in Docker.
    for (const sandbox of await again.list()) await sandbox.destroy();
    await again.snapshots.delete(snapshot.id);
    expect(await instanceContainers(first.instance)).toEqual([]);
    expect(await again.list()).toEqual([]);

    second.process.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
  });
});

describe('shutdown', () => {
  it('SIGTERM leaves sandboxes running; --destroy-on-exit removes them', async () => {
    const dataDir = await newDataDir();
    const first = await start(dataDir);
    const sandbox = await new Burrow({ url: first.url }).create({ image: TEST_IMAGE });
    first.process.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(first.output()).toContain('burrow server stopped');
    const state = await containerState(`burrow-${sandbox.id}`);
    expect(state === 'gone' ? 'gone' : state.Running).toBe(true);

    // The next server on this data directory serves it on, then destroys it on exit when asked to.
    const second = await start(dataDir, ['--destroy-on-exit']);
    const adopted = await new Burrow({ url: second.url }).get(sandbox.id);
    expect(adopted.info.status).toBe('running');
    expect(await run(adopted, 'echo still here')).toBe('still here\n');
    second.process.kill('SIGINT');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(await containerState(`burrow-${sandbox.id}`)).toBe('gone');
    expect(await instanceContainers(first.instance)).toEqual([]);
  });
});
