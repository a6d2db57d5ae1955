/**
 * The Engine API path (transport `engine`: no burrow-agent, `docker exec` of the image's own shell and tools) held
 * to the shared Runtime contract in both test images, plus what only this path has to get right: choosing it,
 * the container it creates, images it cannot serve, process trees, users, streamed and non-UTF-8 files, and
 * snapshots whose tmpfs archives another path cannot read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import { newSandboxId } from '../../ids.js';
import type { Logger } from '../../logger.js';
import {
  BUSYBOX_IMAGE,
  DEBIAN_IMAGE,
  dockerContractTarget,
  EMPTY_IMAGE,
  testDockerRuntime,
} from '../../test-support/docker-runtime.js';
import { expectCode, runRuntimeContract } from '../contract.test-suite.js';
import { runInteractiveContract } from '../interactive-contract.test-suite.js';
import type { SandboxConfig } from '../runtime.js';
import { DockerRuntime } from './docker-runtime.js';
import { containerName, LABEL } from './labels.js';

for (const image of [BUSYBOX_IMAGE, DEBIAN_IMAGE]) {
  runRuntimeContract(`docker, Engine API path (no agent), ${image}`, () =>
    dockerContractTarget('engine', image),
  );
}
runInteractiveContract(`docker, Engine API path (no agent), ${BUSYBOX_IMAGE}`, async () => ({
  ...(await testDockerRuntime('engine')),
  image: BUSYBOX_IMAGE,
  processes: false,
  realShell: true,
}));

const docker = new Dockerode();
const USER_IMAGE = `burrow-test/busybox-user:${randomBytes(4).toString('hex')}`;
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

async function text(id: string, cmd: string[]): Promise<string> {
  return (await runtime.exec(id, { cmd })).stdout.toString();
}

async function sha256(body: AsyncIterable<Buffer | Uint8Array>): Promise<{ digest: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { digest: hash.digest('hex'), bytes };
}

/** Command lines of the sandbox's processes, read from /proc (no ps in the busybox image's PATH guarantee). */
async function processes(id: string): Promise<string[]> {
  const out = await text(id, [
    'sh',
    '-c',
    'for f in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$f" 2>/dev/null; echo; done',
  ]);
  return out.split('\n').filter((line) => line.trim() !== '');
}

async function until(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('engine'));
  // The busybox image with a non-root image user (USER sandbox), made without a registry.
  const base = await docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ['sleep', '3600'] });
  await base.commit({
    repo: USER_IMAGE.split(':')[0],
    tag: USER_IMAGE.split(':')[1],
    changes: 'USER sandbox',
  });
  await base.remove();
});

afterAll(async () => {
  await Promise.all(created.map((id) => runtime.remove(id)));
  await docker
    .getImage(USER_IMAGE)
    .remove({ force: true })
    .catch(() => undefined);
  await cleanup();
});

describe('choosing the Engine API path', () => {
  it('is the automatic choice without the agent binary, and the log says so and why', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'burrow-test-'));
    const lines: { details: object; message?: string }[] = [];
    const logger: Logger = {
      debug: () => undefined,
      info: (details, message) => lines.push(message === undefined ? { details } : { details, message }),
      warn: () => undefined,
      error: () => undefined,
      child: () => logger,
    };
    try {
      const chosen = await DockerRuntime.open({
        stateDir,
        agentBinary: join(stateDir, 'no-such-agent'),
        logger,
      });
      expect(chosen.transport).toBe('engine');
      expect(lines).toContainEqual({
        details: { transport: 'engine', reason: expect.stringMatching(/binary is missing/) as unknown },
        message: expect.stringMatching(/Engine API path is active/) as unknown,
      });
      await expectCode(
        DockerRuntime.open({ stateDir, agentBinary: join(stateDir, 'no-such-agent'), transport: 'socket' }),
        'RUNTIME_UNAVAILABLE',
      );
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('sandboxes without the agent', () => {
  it('run the image command as the image user under Docker init, with the same security profile and no host binds', async () => {
    const id = await sandbox({ image: USER_IMAGE });
    const details = await docker.getContainer(containerName(id)).inspect();
    expect(details.HostConfig.Init).toBe(true);
    expect(details.HostConfig.CapDrop).toEqual(['ALL']);
    expect(details.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(details.HostConfig.ReadonlyRootfs).toBe(true);
    expect(details.Config.User).toBe('sandbox');
    expect(details.Config.Entrypoint).toEqual(['sleep', '3600']);
    expect((details.HostConfig.Mounts ?? []).filter((mount) => mount.Type === 'bind')).toEqual([]);
    expect(details.Config.Labels[LABEL.user]).toBe('sandbox');
    expect((await text(id, ['id', '-u'])).trim()).toBe('1000');
    await runtime.writeFile(id, '/tmp/mine/file.txt', 'x');
    expect((await text(id, ['stat', '-c', '%U %a', '/tmp/mine', '/tmp/mine/file.txt'])).trim()).toBe(
      'sandbox 755\nsandbox 644',
    );
    await expectCode(runtime.readFile(id, '/etc/shadow'), 'FILE_NOT_FOUND');
    const status = await text(id, ['cat', '/proc/self/status']);
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    // A stop is quick: init forwards SIGTERM to the keep-alive process, which dies of it (143), rather than being
    // killed when the 10 s grace runs out (137). The exit code says which, however loaded the machine is.
    await runtime.stop(id, 10_000);
    expect((await runtime.info(id)).exitCode).toBe(143);
  });

  it('keeps an image command (bash on a TTY in the Debian image), and an image without one alive', async () => {
    const debian = await sandbox({ image: DEBIAN_IMAGE });
    expect((await docker.getContainer(containerName(debian)).inspect()).Config.Entrypoint).toEqual(['bash']);
    expect((await runtime.info(debian)).status).toBe('running');
    const busybox = await sandbox({ image: BUSYBOX_IMAGE });
    expect((await docker.getContainer(containerName(busybox)).inspect()).Config.Entrypoint).toEqual([
      'sleep',
      'infinity',
    ]);
    expect((await runtime.info(busybox)).status).toBe('running');
  });

  it('says so at start when the main process exits at once', async () => {
    const id = newSandboxId();
    created.push(id);
    await runtime.create(id, { image: BUSYBOX_IMAGE, cmd: ['sh', '-c', 'exit 3'] });
    // Reported by start when the exit is already visible, else by the first exec.
    const codeOf = (error: { code?: string }) => error.code;
    const outcome = await runtime
      .start(id)
      .then(() => runtime.exec(id, { cmd: ['true'] }).then(() => 'ran', codeOf), codeOf);
    expect(['SANDBOX_NOT_RUNNING', 'ran']).toContain(outcome);
    await expectCode(runtime.exec(id, { cmd: ['true'] }), 'SANDBOX_NOT_RUNNING');
  });

  it('refuses an image without a shell, saying it needs the agent, and leaves no container behind', async () => {
    const id = newSandboxId();
    try {
      await runtime.create(id, { image: EMPTY_IMAGE });
      expect.unreachable('an image without /bin/sh was accepted');
    } catch (error) {
      expect(isBurrowError(error) && error.code).toBe('NOT_SUPPORTED');
      expect(String((error as Error).message)).toMatch(/has no \/bin\/sh.*burrow-agent/);
    }
    await expectCode(runtime.info(id), 'SANDBOX_NOT_FOUND');
  });
});

describe('processes', () => {
  let id: string;
  beforeAll(async () => {
    id = await sandbox();
  });

  it('kills a timed-out command with its whole tree, also children that left its process group', async () => {
    const marker = `sleep ${300 + Math.floor(Math.random() * 100)}`;
    const result = await runtime.exec(id, {
      cmd: ['sh', '-c', `setsid ${marker} & (${marker} &) ; ${marker}`],
      timeoutMs: 500,
    });
    expect(result).toMatchObject({ exitCode: 124, timedOut: true });
    expect(await until(async () => !(await processes(id)).some((line) => line.includes(marker)))).toBe(true);
  });

  it('signals the process group on kill() and kills everything on close()', async () => {
    const trap = await runtime.execStream(id, {
      cmd: ['sh', '-c', 'trap "echo got-int; exit 5" INT; sleep 30 & wait'],
    });
    setTimeout(() => void trap.kill('SIGINT'), 300);
    const events = [];
    for await (const event of trap) events.push(event);
    expect(Buffer.concat(events.flatMap((e) => (e.type === 'stdout' ? [e.data] : []))).toString()).toBe(
      'got-int\n',
    );
    expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 5 });

    const marker = `sleep ${400 + Math.floor(Math.random() * 100)}`;
    const stream = await runtime.execStream(id, { cmd: ['sh', '-c', `setsid ${marker} & ${marker}`] });
    await until(async () => (await processes(id)).some((line) => line.includes(marker)));
    await stream.close();
    expect(await until(async () => !(await processes(id)).some((line) => line.includes(marker)))).toBe(true);
    await expectCode(
      Promise.reject(new Error('x')).catch(() => stream.kill('SIGNOPE')),
      'VALIDATION_FAILED',
    );
  });

  it('names a workdir it cannot enter, and keeps the caller environment as given', async () => {
    await expectCode(runtime.exec(id, { cmd: ['true'], workdir: '/no/such/dir' }), 'FILE_NOT_FOUND');
    await expectCode(runtime.exec(id, { cmd: ['true'], workdir: '/etc/passwd' }), 'NOT_A_DIRECTORY');
    const env = await runtime.exec(id, { cmd: ['env'], env: { d: 'kept', IFS: ':' }, workdir: '/tmp' });
    const lines = env.stdout.toString().split('\n');
    expect(lines).toContain('d=kept');
    expect(lines).toContain('IFS=:');
    expect(lines).toContain('PWD=/tmp');
    expect(lines.some((line) => line.startsWith('OLDPWD='))).toBe(false);
  });

  it('passes stderr through untouched after its own first line', async () => {
    const result = await runtime.exec(id, { cmd: ['sh', '-c', 'printf "\\036not ours\\n" >&2; echo out'] });
    expect(result.stderr.toString()).toBe('\x1enot ours\n');
    expect(result.stdout.toString()).toBe('out\n');
  });
});

for (const image of [BUSYBOX_IMAGE, DEBIAN_IMAGE]) {
  describe(`files in ${image}`, () => {
    let id: string;
    beforeAll(async () => {
      id = await sandbox({ image });
    });

    it('round-trips 100 MB of random bytes, streamed both ways', async () => {
      const chunk = randomBytes(1024 * 1024);
      const expected = createHash('sha256');
      async function* hundredMegabytes() {
        for (let i = 0; i < 100; i++) {
          const part = Buffer.from(chunk);
          part.writeUInt32BE(i, 0);
          expected.update(part);
          yield part;
        }
      }
      const { bytes } = await runtime.writeFile(id, '/tmp/big.bin', hundredMegabytes());
      expect(bytes).toBe(100 * 1024 * 1024);
      const read = await runtime.readFile(id, '/tmp/big.bin');
      expect(read.info.size).toBe(100 * 1024 * 1024);
      expect(await sha256(read.body)).toEqual({ digest: expected.digest('hex'), bytes: 100 * 1024 * 1024 });
      await runtime.removeFile(id, '/tmp/big.bin');
    });

    it('treats non-UTF-8 bytes, printf syntax and shell syntax in names as data', async () => {
      const name = Buffer.concat([
        Buffer.from('/tmp/raw-'),
        Buffer.from([0xff, 0xfe, 0x80]),
        Buffer.from(" $(id) 'q' %s \\n %% -x\n"),
      ]);
      await runtime.writeFile(id, name, 'raw');
      const { entries } = await runtime.listDir(id, '/tmp');
      expect(entries.some((entry) => entry.name.startsWith('raw-'))).toBe(true);
      expect((await sha256((await runtime.readFile(id, name)).body)).bytes).toBe(3);
      expect((await runtime.stat(id, name)).size).toBe(3);
      await runtime.removeFile(id, name);
      await expectCode(runtime.stat(id, name), 'FILE_NOT_FOUND');
    });

    it('reports symlinks as symlinks, writes through them, and resolves them inside the sandbox', async () => {
      await runtime.writeFile(id, '/tmp/links/target.txt', 'before');
      await runtime.exec(id, { cmd: ['ln', '-s', '/tmp/links/target.txt', '/tmp/links/link'] });
      const listed = (await runtime.listDir(id, '/tmp/links')).entries;
      expect(listed.find((entry) => entry.name === 'link')).toMatchObject({
        isSymlink: true,
        linkTarget: '/tmp/links/target.txt',
        path: '/tmp/links/link',
      });
      await runtime.writeFile(id, '/tmp/links/link', 'after');
      expect(await text(id, ['cat', '/tmp/links/target.txt'])).toBe('after');
      expect((await runtime.stat(id, '/tmp/links/link')).isSymlink).toBe(true);
      await runtime.exec(id, { cmd: ['ln', '-s', '/etc/hostname', '/tmp/links/hostname'] });
      const read = await runtime.readFile(id, '/tmp/links/hostname');
      expect((await sha256(read.body)).bytes).toBe((await text(id, ['cat', '/etc/hostname'])).length);
    });

    it('keeps a file untouched when a write is aborted midway, and leaves no temporary file', async () => {
      await runtime.writeFile(id, '/tmp/aborted/file.txt', 'original');
      async function* failing() {
        yield Buffer.alloc(256 * 1024, 1);
        throw new Error('upload aborted');
      }
      await expect(runtime.writeFile(id, '/tmp/aborted/file.txt', failing())).rejects.toThrow(
        'upload aborted',
      );
      expect(await text(id, ['cat', '/tmp/aborted/file.txt'])).toBe('original');
      expect(await until(async () => (await runtime.listDir(id, '/tmp/aborted')).entries.length === 1)).toBe(
        true,
      );
    });

    it('keeps the mode of an existing file and applies the requested mode to a new one', async () => {
      await runtime.writeFile(id, '/tmp/modes/script.sh', 'echo 1', { mode: 0o750 });
      expect((await runtime.stat(id, '/tmp/modes/script.sh')).mode).toBe('-rwxr-x---');
      await runtime.writeFile(id, '/tmp/modes/script.sh', 'echo 2');
      expect((await runtime.stat(id, '/tmp/modes/script.sh')).mode).toBe('-rwxr-x---');
    });

    it('answers the same error codes as the agent path', async () => {
      const probes: [string, (rt: DockerRuntime, sandboxId: string) => Promise<unknown>][] = [
        ['list a file', (rt, sid) => rt.listDir(sid, '/tmp/errors/file')],
        ['stat below a file', (rt, sid) => rt.stat(sid, '/tmp/errors/file/below')],
        ['read below a file', (rt, sid) => rt.readFile(sid, '/tmp/errors/file/below')],
        ['mkdir over a file', (rt, sid) => rt.mkdir(sid, '/tmp/errors/file')],
        ['mkdir below a file', (rt, sid) => rt.mkdir(sid, '/tmp/errors/file/below')],
        ['write below a file', (rt, sid) => rt.writeFile(sid, '/tmp/errors/file/below', 'x')],
        ['write onto a directory', (rt, sid) => rt.writeFile(sid, '/tmp/errors', 'x')],
        ['remove below a file', (rt, sid) => rt.removeFile(sid, '/tmp/errors/file/below')],
        ['list a missing directory', (rt, sid) => rt.listDir(sid, '/tmp/errors/missing')],
        ['remove a missing file', (rt, sid) => rt.removeFile(sid, '/tmp/errors/missing')],
        ['read a dangling symlink', (rt, sid) => rt.readFile(sid, '/tmp/errors/dangling')],
        ['mkdir on the read-only root', (rt, sid) => rt.mkdir(sid, '/etc/newdir')],
        ['remove on the read-only root', (rt, sid) => rt.removeFile(sid, '/etc/passwd')],
        ['write on the read-only root', (rt, sid) => rt.writeFile(sid, '/usr/new-file', 'x')],
        ['exec in a missing workdir', (rt, sid) => rt.exec(sid, { cmd: ['true'], workdir: '/no/such' })],
      ];
      const agentSide = await testDockerRuntime('socket');
      const agentId = newSandboxId();
      try {
        await agentSide.runtime.create(agentId, { image });
        await agentSide.runtime.start(agentId);
        const codes = async (rt: DockerRuntime, sid: string) => {
          await rt.writeFile(sid, '/tmp/errors/file', 'x');
          await rt.exec(sid, { cmd: ['ln', '-sf', '/tmp/errors/nothing', '/tmp/errors/dangling'] });
          const answers: Record<string, string> = {};
          for (const [name, probe] of probes) {
            answers[name] = await probe(rt, sid).then(
              () => 'ok',
              (error: unknown) => (isBurrowError(error) ? error.code : String(error)),
            );
          }
          return answers;
        };
        const expected = await codes(agentSide.runtime, agentId);
        expect(Object.values(expected)).not.toContain('INTERNAL');
        expect(await codes(runtime, id)).toEqual(expected);
      } finally {
        await agentSide.runtime.remove(agentId);
        await agentSide.cleanup();
      }
    });
  });
}

describe('files as a non-root image user', () => {
  it('answers PERMISSION_DENIED where the user may not go', async () => {
    // The busybox image's /home/sandbox is root's (0755), and its tmpfs keeps that.
    const id = await sandbox({ image: USER_IMAGE });
    const probe = await runtime.exec(id, {
      cmd: ['sh', '-c', 'test -w /home/sandbox && echo writable || echo no'],
    });
    expect(probe.stdout.toString()).toBe('no\n');
    await expectCode(runtime.writeFile(id, '/home/sandbox/x', 'x'), 'PERMISSION_DENIED');
    await expectCode(runtime.mkdir(id, '/home/sandbox/sub'), 'PERMISSION_DENIED');
  });
});

describe('snapshots across paths', () => {
  it('refuses to restore an Engine API snapshot on an agent runtime, and the reverse, before creating anything', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'burrow-test-'));
    const instance = `test-${process.env.TEST_BURROW_RUN ?? 'norun'}-${randomBytes(4).toString('hex')}`;
    const common = { stateDir, networkPrefix: 'burrow-test', instance };
    const engine = await DockerRuntime.open({ ...common, transport: 'engine' });
    const agent = await DockerRuntime.open({ ...common, transport: 'socket' });
    const ids: string[] = [];
    const snapshots: string[] = [];
    try {
      for (const [runtimeA, runtimeB] of [
        [engine, agent],
        [agent, engine],
      ] as const) {
        const id = newSandboxId();
        ids.push(id);
        await runtimeA.create(id, { image: BUSYBOX_IMAGE });
        await runtimeA.start(id);
        await runtimeA.writeFile(id, '/tmp/kept.txt', 'kept');
        const snapshot = await runtimeA.snapshot(id, 'cross');
        snapshots.push(snapshot.id);
        const before = (await runtimeB.list()).length;
        await expectCode(runtimeB.restore(snapshot.id), 'NOT_SUPPORTED');
        expect((await runtimeB.list()).length).toBe(before);
        const same = await runtimeA.restore(snapshot.id);
        ids.push(same);
        expect((await sha256((await runtimeA.readFile(same, '/tmp/kept.txt')).body)).bytes).toBe(4);
      }
    } finally {
      for (const snapshot of snapshots) await engine.removeSnapshot(snapshot).catch(() => undefined);
      await Promise.all(ids.map((id) => engine.remove(id)));
      await engine.pruneNetworks().catch(() => undefined);
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
