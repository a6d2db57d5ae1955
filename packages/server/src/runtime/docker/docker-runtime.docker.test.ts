/**
 * What the Docker backend promises beyond the shared contract: the security profile, limits, networks, image
 * handling and the truth of a sandbox's status, checked on the real engine.
 */
import { PassThrough } from 'node:stream';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../../ids.js';
import {
  BUSYBOX_IMAGE,
  DEBIAN_IMAGE,
  EMPTY_IMAGE,
  testDockerRuntime,
} from '../../test-support/docker-runtime.js';
import { expectCode } from '../contract.test-suite.js';
import type { SandboxConfig } from '../runtime.js';
import type { DockerRuntime } from './docker-runtime.js';
import { containerName } from './labels.js';

const docker = new Dockerode();
let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
const created: string[] = [];

async function sandbox(config: Partial<SandboxConfig> = {}): Promise<string> {
  const id = newSandboxId();
  created.push(id);
  await runtime.create(id, { image: BUSYBOX_IMAGE, ...config });
  await runtime.start(id);
  return id;
}

async function until<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const inspect = (id: string) => docker.getContainer(containerName(id)).inspect();

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('socket'));
});

afterAll(async () => {
  await Promise.all(created.map((id) => runtime.remove(id)));
  await cleanup();
});

describe('DockerRuntime security profile', () => {
  it('drops capabilities, sets no-new-privileges, a read-only root, the pids limit and the default tmpfs', async () => {
    const id = await sandbox();
    const details = await inspect(id);
    expect(details.HostConfig.CapDrop).toEqual(['ALL']);
    expect(details.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(details.HostConfig.ReadonlyRootfs).toBe(true);
    expect(details.HostConfig.PidsLimit).toBe(256);
    expect(details.HostConfig.Init).toBe(true);
    expect(Object.keys(details.HostConfig.Tmpfs ?? {}).sort()).toEqual([
      '/home/sandbox',
      '/run',
      '/tmp',
      '/var/tmp',
    ]);
    expect(details.HostConfig.Tmpfs?.['/tmp']).toBe('rw,noexec,nosuid,size=256m');
    expect(details.Config.Labels['burrow.managed']).toBe('true');
    expect(details.Config.Labels['burrow.id']).toBe(id);

    const status = (await runtime.exec(id, { cmd: ['cat', '/proc/self/status'] })).stdout.toString();
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    // Six capabilities at most in the bounding set: NET_BIND_SERVICE, CHOWN, SETUID, SETGID, DAC_OVERRIDE, FOWNER.
    const bounding = BigInt(`0x${/CapBnd:\s+([0-9a-f]+)/.exec(status)?.[1] ?? 'ffffffff'}`);
    expect(bounding).toBe(0x4cbn | 0x400n);
    const write = await runtime.exec(id, { cmd: ['sh', '-c', 'echo x > /etc/x'] });
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr.toString()).toMatch(/read-only/i);
  });

  it('keeps writable_rootfs sandboxes writable', async () => {
    const id = await sandbox({ writableRootfs: true });
    expect(
      (await runtime.exec(id, { cmd: ['sh', '-c', 'echo x > /etc/x && cat /etc/x'] })).stdout.toString(),
    ).toBe('x\n');
  });

  it('stops a fork bomb at the pids limit while the host stays responsive', async () => {
    const id = await sandbox({ pidLimit: 64 });
    const started = Date.now();
    const bomb = await runtime.exec(id, {
      cmd: [
        'sh',
        '-c',
        'i=0; while [ $i -lt 500 ]; do sleep 30 & i=$((i+1)); done 2>/dev/null; echo spawned',
      ],
      timeoutMs: 20_000,
    });
    expect(bomb.timedOut).toBe(false);
    const stats = await runtime.stats(id);
    expect(stats.pidCount).toBeLessThanOrEqual(64);
    expect(Date.now() - started).toBeLessThan(20_000);
    const ping = await runtime.exec(id, { cmd: ['echo', 'alive'] }).catch(() => undefined);
    // The sandbox may refuse a new process while full; the host (this test process) stays responsive either way.
    if (ping !== undefined && ping.exitCode === 0) expect(ping.stdout.toString()).toBe('alive\n');
  });

  it('OOM-kills a memory hog and reports the sandbox as error', async () => {
    const id = newSandboxId();
    created.push(id);
    await runtime.create(id, {
      image: DEBIAN_IMAGE,
      memory: 64 * 1024 * 1024,
      cmd: ['python3', '-c', 'import time; b = bytearray(512 * 1024 * 1024); time.sleep(60)'],
    });
    await runtime.start(id).catch(() => undefined);
    const info = await until(
      () => runtime.info(id),
      (value) => value.status !== 'running',
    );
    expect(info.status).toBe('error');
    expect(info.oomKilled).toBe(true);
  });

  it('reports a sandbox whose main process exited as stopped', async () => {
    const id = newSandboxId();
    created.push(id);
    await runtime.create(id, { image: BUSYBOX_IMAGE, cmd: ['sh', '-c', 'sleep 1; exit 0'] });
    await runtime.start(id);
    const info = await until(
      () => runtime.info(id),
      (value) => value.status !== 'running',
    );
    expect(info.status).toBe('stopped');
    expect(info.exitCode).toBe(0);
  });
});

describe('DockerRuntime commands and images', () => {
  it("runs the image's own command when cmd is absent, and stays alive without one", async () => {
    const debian = await sandbox({ image: DEBIAN_IMAGE });
    expect((await runtime.info(debian)).status).toBe('running');
    const processes = (await runtime.exec(debian, { cmd: ['ps', '-eo', 'args'] })).stdout.toString();
    expect(processes).toContain('bash');
    const busybox = await sandbox();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await runtime.info(busybox)).status).toBe('running');
  });

  it('runs a given cmd as the main process', async () => {
    const id = await sandbox({ cmd: ['sleep', '1000'] });
    const processes = (await runtime.exec(id, { cmd: ['ps', '-o', 'args'] })).stdout.toString();
    expect(processes).toContain('sleep 1000');
  });

  it('works in an image with no shell and no libc', async () => {
    const id = await sandbox({ image: EMPTY_IMAGE });
    const read = await runtime.readFile(id, '/hello.txt');
    const chunks: Buffer[] = [];
    for await (const chunk of read.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello from an empty image\n');
    await runtime.writeFile(id, '/tmp/new.txt', 'written');
    expect((await runtime.stat(id, '/tmp/new.txt')).size).toBe(7);
    expect((await runtime.exec(id, { cmd: ['sh', '-c', 'true'] })).exitCode).toBe(127);
  });

  it('answers IMAGE_NOT_FOUND, saying how to get one, for an image nobody can pull', async () => {
    await expectCode(
      runtime.create(newSandboxId(), { image: 'burrow-test/does-not-exist:latest' }),
      'IMAGE_NOT_FOUND',
    );
    try {
      await runtime.create(newSandboxId(), { image: 'burrow-test/does-not-exist:latest' });
    } catch (error) {
      expect((error as Error).message).toMatch(/docker build|import|burrow image build/);
    }
  });

  it('kills the whole process tree at an exec timeout', async () => {
    const id = await sandbox();
    const result = await runtime.exec(id, {
      cmd: ['sh', '-c', 'sleep 300 & sleep 301 & wait'],
      timeoutMs: 500,
    });
    expect(result.timedOut).toBe(true);
    const ps = (await runtime.exec(id, { cmd: ['ps', '-o', 'args'] })).stdout.toString();
    expect(ps).not.toContain('sleep 300');
    expect(ps).not.toContain('sleep 301');
  });

  it('delivers 10 MB of stdout intact and stdin through cat', async () => {
    const id = await sandbox({ image: DEBIAN_IMAGE });
    const big = await runtime.exec(id, {
      cmd: ['python3', '-c', 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 40960)'],
    });
    expect(big.stdout.length).toBe(10 * 1024 * 1024);
    expect(big.stdout.subarray(0, 256).equals(Buffer.from([...Array(256).keys()]))).toBe(true);
    const input = Buffer.alloc(5 * 1024 * 1024, 7);
    const echoed = await runtime.exec(id, { cmd: ['cat'], stdin: input });
    expect(echoed.stdout.equals(input)).toBe(true);
  });

  it('runs agent execs with exactly the identity of a docker exec: namespaces, cgroup, capabilities, seccomp', async () => {
    const id = await sandbox({ memory: 64 * 1024 * 1024 });
    const probe = [
      'sh',
      '-c',
      'grep -E "^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status; ' +
        'cat /proc/self/cgroup; for ns in mnt pid net ipc uts; do readlink /proc/self/ns/$ns; done',
    ];
    const viaAgent = (await runtime.exec(id, { cmd: probe })).stdout.toString();
    const exec = await docker.getContainer(containerName(id)).exec({ Cmd: probe, AttachStdout: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    const stdout = new PassThrough();
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    docker.modem.demuxStream(stream, stdout, new PassThrough());
    await new Promise((resolve) => stream.on('end', resolve));
    const viaDockerExec = Buffer.concat(chunks).toString();
    expect(viaAgent).toContain('NoNewPrivs:\t1');
    expect(viaAgent).toMatch(/Seccomp:\t2/);
    expect(viaAgent).toBe(viaDockerExec);
  });

  it('delivers output written after a long silence, and binary output', async () => {
    const id = await sandbox();
    const late = await runtime.exec(id, { cmd: ['sh', '-c', 'sleep 2; printf "\\001\\377\\000end"'] });
    expect([...late.stdout]).toEqual([1, 255, 0, ...Buffer.from('end')]);
  });
});

describe('DockerRuntime networks and ports', () => {
  it('gives network mode none only a loopback interface', async () => {
    const id = await sandbox({ networkMode: 'none' });
    const links = (await runtime.exec(id, { cmd: ['ip', 'link'] })).stdout.toString();
    expect(links).toContain('lo');
    expect(links).not.toContain('eth0');
    expect((await runtime.info(id)).ip).toBe('');
  });

  it('creates the managed internal network with inter-container traffic off', async () => {
    const id = await sandbox({ networkMode: 'internal' });
    const info = await runtime.info(id);
    expect(info.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const details = await inspect(id);
    const networkName = Object.keys(details.NetworkSettings.Networks)[0] ?? '';
    const network = (await docker.getNetwork(networkName).inspect()) as {
      Internal: boolean;
      Options: Record<string, string>;
      Labels: Record<string, string>;
    };
    expect(network.Internal).toBe(true);
    expect(network.Options['com.docker.network.bridge.enable_icc']).toBe('false');
    expect(network.Labels['burrow.managed']).toBe('true');
  });

  it('records ports but has Docker publish nothing (the server publishes them through the agent)', async () => {
    const id = await sandbox({
      networkMode: 'bridge',
      ports: [{ sandboxPort: 8000, hostPort: 18_457, protocol: 'tcp' }],
    });
    const details = await inspect(id);
    expect(details.HostConfig.PortBindings ?? {}).toEqual({});
    expect((await runtime.info(id)).ports).toEqual([
      { sandboxPort: 8000, hostPort: 18_457, protocol: 'tcp' },
    ]);
  });

  it("prunes only its own idle networks, never another installation's", async () => {
    const other = await testDockerRuntime('socket');
    try {
      const id = newSandboxId();
      await other.runtime.create(id, { image: BUSYBOX_IMAGE, networkMode: 'internal' });
      await other.runtime.start(id);
      const name = Object.keys((await inspect(id)).NetworkSettings.Networks)[0] ?? '';
      await other.runtime.remove(id);
      await runtime.pruneNetworks();
      expect((await docker.getNetwork(name).inspect()).Name).toBe(name);
      await other.runtime.pruneNetworks();
      await expect(docker.getNetwork(name).inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await other.cleanup();
    }
  });

  it('recreates its managed network when someone removed it behind its back', async () => {
    const first = await sandbox({ networkMode: 'internal' });
    const name = Object.keys((await inspect(first)).NetworkSettings.Networks)[0] ?? '';
    await runtime.remove(first);
    const users = await docker.listContainers({ all: true, filters: { network: [name] } });
    for (const user of users) await docker.getContainer(user.Id).remove({ force: true });
    await docker.getNetwork(name).remove();
    const second = await sandbox({ networkMode: 'internal' });
    expect((await runtime.exec(second, { cmd: ['true'] })).exitCode).toBe(0);
    expect(Object.keys((await inspect(second)).NetworkSettings.Networks)).toEqual([name]);
  });

  it('accepts ports in network mode none (they ride on the agent, not on a network)', async () => {
    const id = await sandbox({
      networkMode: 'none',
      ports: [{ sandboxPort: 1, hostPort: 2, protocol: 'tcp' }],
    });
    expect((await runtime.info(id)).ports).toEqual([{ sandboxPort: 1, hostPort: 2, protocol: 'tcp' }]);
  });
});

describe('DockerRuntime resources', () => {
  it('measures CPU over a real interval', async () => {
    // Two busy loops under a one-core limit. Bounds are generous, since the machine may be loaded: the loops get
    // some CPU (idle gets almost none), and never more than the limit allows (two unlimited loops could take 200).
    const id = await sandbox({ cpu: 1_000_000_000 });
    const idle = await runtime.stats(id);
    const burn = await runtime.execStream(id, {
      cmd: ['sh', '-c', 'while :; do :; done & while :; do :; done'],
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const busy = await runtime.stats(id);
    await burn.close();
    expect(idle.cpuPercent).toBeLessThan(busy.cpuPercent);
    expect(busy.cpuPercent).toBeGreaterThan(10);
    expect(busy.cpuPercent).toBeLessThan(130);
  });

  it('updates the memory limit of a running sandbox and lifts it with 0', async () => {
    const id = await sandbox({ memory: 128 * 1024 * 1024 });
    await runtime.updateMemoryLimit(id, 256 * 1024 * 1024);
    expect((await inspect(id)).HostConfig.Memory).toBe(256 * 1024 * 1024);
    await runtime.updateMemoryLimit(id, 96 * 1024 * 1024);
    expect((await inspect(id)).HostConfig.Memory).toBe(96 * 1024 * 1024);
    expect((await runtime.stats(id)).memoryLimit).toBe(96 * 1024 * 1024);
    await runtime.updateMemoryLimit(id, 0);
    expect((await runtime.stats(id)).memoryLimit).toBeGreaterThan(1024 ** 3);
  });

  it('leaves no container behind after remove', async () => {
    const id = await sandbox();
    await runtime.remove(id);
    const left = await docker.listContainers({ all: true, filters: { label: [`burrow.id=${id}`] } });
    expect(left).toEqual([]);
  });
});
