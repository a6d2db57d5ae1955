/**
 * `burrow doctor` and the checks `burrow serve` runs at start, as a user runs them: the built CLI against the real
 * Docker engine, against a Docker that does not answer (a DOCKER_HOST socket where nothing listens, so the shared
 * daemon keeps running), and with the gVisor runtime missing.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../../../test/support/child-server.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function burrow(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('BURROW_')) clean[name] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...clean, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const line = (output: string, id: string) =>
  output.split('\n').find((text) => text.startsWith(`  `) && text.slice(8).startsWith(`${id} `)) ?? '';

let dataDir: string;
const NO_DOCKER = { DOCKER_HOST: `unix://${join(tmpdir(), `burrow-no-docker-${process.pid}.sock`)}` };
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'burrow-doctor-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('burrow doctor', () => {
  it('reports every check, one line each, against the real engine and exits 0', async () => {
    const run = await burrow(['doctor', '--port', '0', '--data-dir', dataDir]);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const version = (await new Dockerode().version()) as { Version: string; ApiVersion: string };
    expect(line(run.stdout, 'docker')).toContain(
      `ok    docker      Docker ${version.Version} (API ${version.ApiVersion})`,
    );
    for (const id of [
      'cgroup',
      'agent',
      'runsc',
      'disk-quota',
      'fuse',
      'memory',
      'disk',
      'data-dir',
      'port',
      'image',
    ])
      expect(line(run.stdout, id), `${id} in:\n${run.stdout}`).toMatch(/^ {2}(ok {2}|warn) {2}/);
    expect(line(run.stdout, 'cgroup')).toMatch(
      /cgroup v[12] \((cgroupfs|systemd) driver, (unified|hybrid|legacy) hierarchy\)/,
    );
    expect(line(run.stdout, 'agent')).toContain('transport socket');
    expect(line(run.stdout, 'data-dir')).toContain(`${dataDir} is writable (mode 700)`);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toMatch(/^ready for burrow serve/);
  });

  it('says Docker does not answer, skips what needs it, and exits 1', async () => {
    const run = await burrow(['doctor', '--port', '0', '--data-dir', dataDir], NO_DOCKER);
    expect(run.code).toBe(1);
    expect(line(run.stdout, 'docker')).toContain(
      `FAIL  docker      Docker does not answer at ${NO_DOCKER.DOCKER_HOST}`,
    );
    expect(line(run.stdout, 'docker')).toContain('-> start the Docker engine');
    expect(line(run.stdout, 'runsc')).toContain('skip  runsc       not checked: Docker does not answer');
    expect(run.stdout).toContain(
      '1 required check failed (docker): burrow serve cannot start until it is fixed',
    );
  });

  it('warns (and still exits 0) when the gVisor runtime is not registered', async () => {
    const run = await burrow(['doctor', '--only', 'docker', 'runsc', '--runtime', 'burrow-no-such-runtime']);
    expect(run.code).toBe(0);
    expect(line(run.stdout, 'runsc')).toMatch(
      /^ {2}warn {2}runsc {7}gVisor runtime "burrow-no-such-runtime" is not registered with Docker \(runtimes: .*runc.*\); optional -> install Debian's runsc package/,
    );
  });

  it('starts a container with a registered gVisor runtime, or says it is missing', async () => {
    const runtimes =
      ((await new Dockerode().info()) as { Runtimes?: Record<string, { path?: string }> }).Runtimes ?? {};
    const gvisor = Object.entries(runtimes).find(([, runtime]) =>
      (runtime.path ?? '').endsWith('runsc'),
    )?.[0];
    const run = await burrow([
      'doctor',
      '--json',
      '--only',
      'runsc',
      ...(gvisor === undefined ? [] : ['--runtime', gvisor]),
    ]);
    const [result] = JSON.parse(run.stdout) as {
      id: string;
      status: string;
      detail: string;
      required: boolean;
    }[];
    expect(result).toMatchObject({ id: 'runsc', required: false });
    if (gvisor === undefined) expect(result?.status).toBe('warn');
    else
      expect(result?.detail).toMatch(
        new RegExp(`^"${gvisor}" is registered and runs a container \\(\\d+ ms\\)$`),
      );
    const probes = await new Dockerode().listContainers({
      all: true,
      filters: { label: ['burrow.doctor=true'] },
    });
    expect(probes).toEqual([]);
  });
});

describe('burrow serve runs the required checks first', () => {
  it('refuses to start when Docker does not answer, with the doctor line', async () => {
    const run = await burrow(['serve', '--port', '0', '--data-dir', dataDir], NO_DOCKER);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'burrow: the host is not ready for burrow serve (burrow doctor checks everything):',
    );
    expect(run.stderr).toContain(`  FAIL  docker      Docker does not answer at ${NO_DOCKER.DOCKER_HOST}`);
  });

  it('refuses a port another program holds, and says how to find it', async () => {
    // It hangs up on whoever connects (so the doctor's "is this a Burrow?" probe gets no answer, and close() returns).
    const holder: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const run = await burrow(['serve', '--port', String(port), '--data-dir', dataDir]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `  FAIL  port        127.0.0.1:${port} is in use by another program -> stop it`,
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
