/**
 * The part of the Runtime contract where an in-memory double is most tempted to be kinder than Docker: starting a
 * running sandbox, stop exit codes, host ports two sandboxes both want, memory minimums, writes that fail or are
 * aborted, full tmpfs mounts, symlinks, the image's user and what it may not read, and addresses. Every case here
 * was measured on Docker (all three access paths) first; the fake is held to the same answers.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { newSandboxId } from '../ids.js';
import { freePort } from '../test-support/free-port.js';
import type { Runtime, SandboxConfig } from './runtime.js';
import { expectCode, readAll, type ContractTarget } from './contract.test-suite.js';

/** A contract target that also says what the fidelity cases need to know about it. */
export interface FidelityTarget extends ContractTarget {
  /** An image like `image` whose user is `sandbox` (uid 1000). */
  userImage: string;
  /**
   * The exit code a sandbox of `image` without `cmd` reports after a stop: its image command's, or the keep-alive's
   * when the image has none (the agent ends with 0; the Engine API path's `sleep infinity` with 143).
   */
  idleStopExitCode: number;
}

export interface FidelityContext {
  runtime(): Runtime;
  target(): FidelityTarget;
  /** A started sandbox of the target's image (or `image`), removed after the suite. */
  sandbox(config?: Partial<SandboxConfig>): Promise<string>;
  /** Records an id created by hand, for removal after the suite. */
  track(id: string): void;
}

const MiB = 1024 * 1024;

/** Whether a listener can bind 127.0.0.1:`port` now (nothing holds it). */
async function canBind(port: number): Promise<boolean> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

async function text(runtime: Runtime, id: string, cmd: string[]): Promise<string> {
  return (await runtime.exec(id, { cmd })).stdout.toString();
}

export function fidelityContract(context: FidelityContext): void {
  const runtime = () => context.runtime();

  describe('lifecycle as Docker does it', () => {
    it('answers start on a running sandbox as a no-op, and stop on a stopped one too', async () => {
      const id = await context.sandbox();
      await runtime().start(id);
      expect((await runtime().info(id)).status).toBe('running');
      expect(await text(runtime(), id, ['echo', 'still here'])).toBe('still here\n');
      await runtime().stop(id, 2000);
      await runtime().stop(id, 2000);
      expect((await runtime().info(id)).status).toBe('stopped');
    });

    it("stops the main process with SIGTERM and reports its exit code (143 for sleep; the image's own otherwise)", async () => {
      const sleeping = await context.sandbox({ cmd: ['sleep', '1000'] });
      await runtime().stop(sleeping, 2000);
      expect((await runtime().info(sleeping)).exitCode).toBe(143);
      const idle = await context.sandbox();
      await runtime().stop(idle, 2000);
      expect((await runtime().info(idle)).exitCode).toBe(context.target().idleStopExitCode);
    });

    it('kills a process blocked reading its open stdin', async () => {
      const id = await context.sandbox();
      const stream = await runtime().execStream(id, { cmd: ['cat'], openStdin: true });
      await stream.stdin.write('partial');
      setTimeout(() => void stream.kill('SIGKILL'), 200);
      let last;
      for await (const event of stream) last = event;
      expect(last).toEqual({ type: 'exit', exitCode: 137, timedOut: false });
    });

    it('refuses a memory limit below 6 MiB with VALIDATION_FAILED, at create and on update', async () => {
      const id = newSandboxId();
      context.track(id);
      const { image, defaults } = context.target();
      await expectCode(runtime().create(id, { image, ...defaults, memory: 4 * MiB }), 'VALIDATION_FAILED');
      await expectCode(runtime().info(id), 'SANDBOX_NOT_FOUND');
      // Room above the minimum: a gVisor sandbox's own kernel needs more than 6 MiB to start at all.
      const running = await context.sandbox({ memory: 64 * MiB });
      await expectCode(runtime().updateMemoryLimit(running, 5 * MiB), 'VALIDATION_FAILED');
      await expectCode(runtime().updateLimits(running, { memory: 1 }), 'VALIDATION_FAILED');
      await runtime().updateMemoryLimit(running, 48 * MiB);
    });

    it('applies limit updates to the running sandbox and keeps its create-time configuration in info', async () => {
      const id = await context.sandbox({ memory: 128 * MiB });
      await runtime().updateMemoryLimit(id, 96 * MiB);
      expect((await runtime().stats(id)).memoryLimit).toBe(96 * MiB);
      await runtime().updateLimits(id, { memory: 80 * MiB });
      expect((await runtime().stats(id)).memoryLimit).toBe(80 * MiB);
      expect((await runtime().info(id)).config?.memory).toBe(128 * MiB);
    });

    it('gives a sandbox on a network an address, and one without a network none', async () => {
      const networked = await context.sandbox({ networkMode: 'internal' });
      expect((await runtime().info(networked)).ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const isolated = await context.sandbox({ networkMode: 'none' });
      expect((await runtime().info(isolated)).ip).toBe('');
    });
  });

  describe('host ports', () => {
    it('publish nothing themselves: two sandboxes asking for one host port both start (the server publishes ports)', async () => {
      const port = await freePort();
      const ports = (sandboxPort: number) => [{ sandboxPort, hostPort: port, protocol: 'tcp' as const }];
      const first = await context.sandbox({ networkMode: 'bridge', ports: ports(8080) });
      const second = await context.sandbox({ networkMode: 'bridge', ports: ports(9090) });
      for (const id of [first, second]) {
        expect((await runtime().info(id)).status).toBe('running');
        expect((await runtime().info(id)).ports).toEqual(ports(id === first ? 8080 : 9090));
      }
      // Nothing listens on the host port: the runtime left it to the server's publisher.
      expect(await canBind(port)).toBe(true);
    });
  });

  describe('writes that do not complete', () => {
    it('leave nothing behind: a new path stays missing and an existing file keeps its bytes', async () => {
      const id = await context.sandbox();
      async function* failing() {
        yield Buffer.alloc(64 * 1024, 1);
        throw new Error('upload aborted');
      }
      await expect(runtime().writeFile(id, '/tmp/partial/new.bin', failing())).rejects.toThrow(
        'upload aborted',
      );
      await expectCode(runtime().stat(id, '/tmp/partial/new.bin'), 'FILE_NOT_FOUND');
      await runtime().writeFile(id, '/tmp/partial/kept.txt', 'original');
      await expect(runtime().writeFile(id, '/tmp/partial/kept.txt', failing())).rejects.toThrow(
        'upload aborted',
      );
      expect((await readAll((await runtime().readFile(id, '/tmp/partial/kept.txt')).body)).toString()).toBe(
        'original',
      );
      const aborted = new AbortController();
      aborted.abort(new Error('caller gave up'));
      await expect(
        runtime().writeFile(id, '/tmp/partial/kept.txt', 'changed', { signal: aborted.signal }),
      ).rejects.toThrow('caller gave up');
      // A backend may clean its temporary file up just after the call failed; within seconds nothing is left.
      await expect
        .poll(async () => (await runtime().listDir(id, '/tmp/partial')).entries.map((entry) => entry.name), {
          timeout: 5000,
        })
        .toEqual(['kept.txt']);
    });

    it('answer NO_SPACE on a full tmpfs and keep nothing of the write', async () => {
      const id = await context.sandbox({ storage: { tmpfs: [{ path: '/tmp', size: '1m' }] } });
      await runtime().writeFile(id, '/tmp/fits.bin', Buffer.alloc(256 * 1024, 2));
      await expectCode(runtime().writeFile(id, '/tmp/big.bin', Buffer.alloc(2 * MiB, 3)), 'NO_SPACE');
      await expectCode(runtime().stat(id, '/tmp/big.bin'), 'FILE_NOT_FOUND');
      await expectCode(runtime().writeFile(id, '/tmp/fits.bin', Buffer.alloc(2 * MiB, 4)), 'NO_SPACE');
      const kept = await readAll((await runtime().readFile(id, '/tmp/fits.bin')).body);
      expect(kept.equals(Buffer.alloc(256 * 1024, 2))).toBe(true);
      // The space of the failed writes was given back.
      await runtime().writeFile(id, '/tmp/second.bin', Buffer.alloc(512 * 1024, 5));
    });
  });

  describe('symlinks', () => {
    it('are listed and stat-ed as links, followed by reads, writes and listings, and removed as links', async () => {
      const id = await context.sandbox();
      await runtime().writeFile(id, '/tmp/links/dir/target.txt', 'target');
      for (const [to, from] of [
        ['/tmp/links/dir/target.txt', '/tmp/links/absolute'],
        ['dir/target.txt', '/tmp/links/relative'],
        ['/tmp/links/dir', '/tmp/links/dirlink'],
        ['/tmp/links/nothing', '/tmp/links/dangling'],
      ] as const) {
        expect((await runtime().exec(id, { cmd: ['ln', '-s', to, from] })).exitCode).toBe(0);
      }
      const { entries } = await runtime().listDir(id, '/tmp/links');
      const byName = Object.fromEntries(entries.map((entry) => [entry.name, entry]));
      expect(Object.keys(byName).sort()).toEqual(['absolute', 'dangling', 'dir', 'dirlink', 'relative']);
      expect(byName.absolute).toMatchObject({
        path: '/tmp/links/absolute',
        isSymlink: true,
        isDir: false,
        linkTarget: '/tmp/links/dir/target.txt',
        mode: 'lrwxrwxrwx',
      });
      expect(byName.relative).toMatchObject({ isSymlink: true, linkTarget: 'dir/target.txt' });
      expect(byName.dirlink).toMatchObject({ isSymlink: true, isDir: false, linkTarget: '/tmp/links/dir' });
      expect(await runtime().stat(id, '/tmp/links/dangling')).toMatchObject({
        isSymlink: true,
        linkTarget: '/tmp/links/nothing',
      });

      const read = await runtime().readFile(id, '/tmp/links/relative');
      expect(read.info).toMatchObject({ name: 'relative', path: '/tmp/links/relative', size: 6 });
      expect(read.info.isSymlink).toBe(false);
      expect((await readAll(read.body)).toString()).toBe('target');
      await expectCode(runtime().readFile(id, '/tmp/links/dangling'), 'FILE_NOT_FOUND');

      await runtime().writeFile(id, '/tmp/links/absolute', 'written through');
      expect(await text(runtime(), id, ['cat', '/tmp/links/dir/target.txt'])).toBe('written through');
      expect((await runtime().stat(id, '/tmp/links/absolute')).isSymlink).toBe(true);
      await runtime().writeFile(id, '/tmp/links/dirlink/new.txt', 'via a directory link');
      expect(await text(runtime(), id, ['cat', '/tmp/links/dir/new.txt'])).toBe('via a directory link');
      const through = (await runtime().listDir(id, '/tmp/links/dirlink')).entries.map((entry) => entry.path);
      expect(through.sort()).toEqual(['/tmp/links/dirlink/new.txt', '/tmp/links/dirlink/target.txt']);

      await runtime().removeFile(id, '/tmp/links/dirlink');
      await expectCode(runtime().stat(id, '/tmp/links/dirlink'), 'FILE_NOT_FOUND');
      expect((await runtime().stat(id, '/tmp/links/dir/target.txt')).size).toBe('written through'.length);
    });
  });

  describe("the image's user", () => {
    it('runs commands as root in an image without a user, and root may read any file', async () => {
      const id = await context.sandbox();
      expect(await text(runtime(), id, ['id', '-u'])).toBe('0\n');
      await runtime().writeFile(id, '/tmp/locked', 'secret', { mode: 0 });
      expect((await runtime().stat(id, '/tmp/locked')).mode).toBe('----------');
      expect((await readAll((await runtime().readFile(id, '/tmp/locked')).body)).toString()).toBe('secret');
    });

    it('runs commands and file calls as a non-root image user, with PERMISSION_DENIED where it may not read', async () => {
      const id = await context.sandbox({ image: context.target().userImage });
      expect(await text(runtime(), id, ['id', '-u'])).toBe('1000\n');
      await runtime().writeFile(id, '/tmp/locked', 'secret', { mode: 0 });
      await expectCode(runtime().readFile(id, '/tmp/locked'), 'PERMISSION_DENIED');
      const cat = await runtime().exec(id, { cmd: ['cat', '/tmp/locked'] });
      expect(cat.exitCode).toBe(1);
      expect(cat.stderr.toString()).toMatch(/permission denied/i);
      await runtime().writeFile(id, '/tmp/open', 'mine', { mode: 0o600 });
      expect(await text(runtime(), id, ['cat', '/tmp/open'])).toBe('mine');
    });
  });
}
