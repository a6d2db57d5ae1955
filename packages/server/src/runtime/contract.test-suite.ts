/**
 * The behaviour every Runtime must have. `runRuntimeContract` is called by each backend's test file, so the fake
 * and the Docker backend (both agent transports) are held to the same contract.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBurrowError, type ErrorCode } from '@burrow/protocol';
import { newSandboxId } from '../ids.js';
import type { ExecEvent, Runtime, SandboxConfig } from './runtime.js';
import { fidelityContract, type FidelityTarget } from './contract-fidelity.test-suite.js';

export interface ContractTarget {
  runtime: Runtime;
  /** An image every test may use (has `sh`, `cat`, `echo`, `sleep`, `ln`, `id`); its user is root. */
  image: string;
  /** Settings every sandbox of the run gets (e.g. `runtime: 'gvisor'`). */
  defaults?: Partial<SandboxConfig>;
  cleanup?: () => Promise<void>;
}

export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!isBurrowError(error)) throw error;
    expect(error.code).toBe(code);
    return;
  }
  throw new Error(`expected a ${code} error, but the call succeeded`);
}

async function drain(
  stream: AsyncIterable<ExecEvent>,
): Promise<{ stdout: string; stderr: string; events: ExecEvent[] }> {
  const events: ExecEvent[] = [];
  let stdout = '';
  let stderr = '';
  for await (const event of stream) {
    events.push(event);
    if (event.type === 'stdout') stdout += event.data.toString();
    if (event.type === 'stderr') stderr += event.data.toString();
  }
  return { stdout, stderr, events };
}

export async function readAll(body: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export function runRuntimeContract(name: string, makeTarget: () => Promise<FidelityTarget>): void {
  describe(`Runtime contract: ${name}`, () => {
    let target: FidelityTarget;
    let runtime: Runtime;
    const created: string[] = [];

    async function sandbox(config: Partial<SandboxConfig> = {}): Promise<string> {
      const id = newSandboxId();
      created.push(id);
      await runtime.create(id, { image: target.image, ...target.defaults, ...config });
      await runtime.start(id);
      return id;
    }

    let shared: string;

    beforeAll(async () => {
      target = await makeTarget();
      runtime = target.runtime;
      shared = await sandbox({ env: { GREETING: 'hello' }, labels: { team: 'contract' } });
    });

    afterAll(async () => {
      if (runtime === undefined) return;
      for (const snapshot of await runtime.listSnapshots().catch(() => [])) {
        if (created.includes(snapshot.sandboxId))
          await runtime.removeSnapshot(snapshot.id).catch(() => undefined);
      }
      await Promise.all(created.map((id) => runtime.remove(id)));
      await target.cleanup?.();
    });

    describe('lifecycle', () => {
      it('answers ping', async () => {
        await expect(runtime.ping()).resolves.toBeUndefined();
      });

      it('reports a created sandbox as running with its image and caller labels', async () => {
        const info = await runtime.info(shared);
        expect(info.id).toBe(shared);
        expect(info.status).toBe('running');
        expect(info.image).toBe(target.image);
        expect(info.labels).toEqual({ team: 'contract' });
        expect(info.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
        expect(Date.now() - info.createdAt.getTime()).toBeLessThan(10 * 60_000);
        const listed = await runtime.list();
        expect(listed.map((entry) => entry.id)).toContain(shared);
      });

      it('refuses caller labels in the burrow. namespace', async () => {
        await expectCode(
          runtime.create(newSandboxId(), {
            image: target.image,
            ...target.defaults,
            labels: { 'burrow.id': 'x' },
          }),
          'VALIDATION_FAILED',
        );
      });

      it('stops and starts a sandbox; exec needs it running', async () => {
        const id = await sandbox();
        await runtime.stop(id, 2000);
        expect((await runtime.info(id)).status).toBe('stopped');
        await expectCode(runtime.exec(id, { cmd: ['true'] }), 'SANDBOX_NOT_RUNNING');
        await expectCode(runtime.readFile(id, '/etc/passwd'), 'SANDBOX_NOT_RUNNING');
        await runtime.start(id);
        expect((await runtime.info(id)).status).toBe('running');
        expect((await runtime.exec(id, { cmd: ['echo', 'back'] })).stdout.toString()).toBe('back\n');
      });

      it('removes a sandbox idempotently', async () => {
        const id = await sandbox();
        await runtime.remove(id);
        await runtime.remove(id);
        await expectCode(runtime.info(id), 'SANDBOX_NOT_FOUND');
        expect((await runtime.list()).map((entry) => entry.id)).not.toContain(id);
      });

      it('answers SANDBOX_NOT_FOUND for unknown ids', async () => {
        const id = newSandboxId();
        await expectCode(runtime.info(id), 'SANDBOX_NOT_FOUND');
        await expectCode(runtime.start(id), 'SANDBOX_NOT_FOUND');
        await expectCode(runtime.stop(id), 'SANDBOX_NOT_FOUND');
        await expectCode(runtime.exec(id, { cmd: ['true'] }), 'SANDBOX_NOT_FOUND');
        await expectCode(runtime.readFile(id, '/tmp/x'), 'SANDBOX_NOT_FOUND');
        await expectCode(runtime.stats(id), 'SANDBOX_NOT_FOUND');
        await expectCode(runtime.snapshot(id, 'x'), 'SANDBOX_NOT_FOUND');
      });
    });

    describe('pause and resume', () => {
      it('freezes a sandbox and continues it where it was; in-sandbox calls wait for resume', async () => {
        const id = await sandbox();
        await runtime.writeFile(id, '/tmp/before.txt', 'kept');
        await runtime.pause(id);
        await runtime.pause(id);
        expect((await runtime.info(id)).status).toBe('paused');
        expect((await runtime.list()).find((info) => info.id === id)?.status).toBe('paused');
        await expectCode(runtime.exec(id, { cmd: ['true'] }), 'SANDBOX_NOT_RUNNING');
        await expectCode(runtime.readFile(id, '/tmp/before.txt'), 'SANDBOX_NOT_RUNNING');
        await expectCode(runtime.writeFile(id, '/tmp/x', 'x'), 'SANDBOX_NOT_RUNNING');
        await runtime.resume(id);
        await runtime.resume(id);
        expect((await runtime.info(id)).status).toBe('running');
        expect((await readAll((await runtime.readFile(id, '/tmp/before.txt')).body)).toString()).toBe('kept');
        expect((await runtime.exec(id, { cmd: ['echo', 'back'] })).stdout.toString()).toBe('back\n');
      });

      it('stops and removes a paused sandbox; refuses to pause or resume a stopped one', async () => {
        const id = await sandbox();
        await runtime.pause(id);
        await runtime.stop(id, 1000);
        expect((await runtime.info(id)).status).toBe('stopped');
        await expectCode(runtime.pause(id), 'SANDBOX_NOT_RUNNING');
        await expectCode(runtime.resume(id), 'SANDBOX_NOT_RUNNING');
        await runtime.start(id);
        await runtime.pause(id);
        await runtime.remove(id);
        await expectCode(runtime.info(id), 'SANDBOX_NOT_FOUND');
        await expectCode(runtime.pause(newSandboxId()), 'SANDBOX_NOT_FOUND');
        await expectCode(runtime.resume(newSandboxId()), 'SANDBOX_NOT_FOUND');
      });

      it('reports pause and resume as events', async () => {
        const id = await sandbox();
        const controller = new AbortController();
        const seen: string[] = [];
        const watching = (async () => {
          for await (const event of runtime.events(controller.signal)) {
            if (event.id !== id) continue;
            seen.push(event.type);
            if (event.type === 'resumed') return;
          }
        })();
        await new Promise((resolve) => setTimeout(resolve, 200));
        await runtime.pause(id);
        await runtime.resume(id);
        await watching;
        controller.abort();
        expect(seen).toEqual(['paused', 'resumed']);
      });
    });

    describe('exec', () => {
      it('runs argv and returns stdout, stderr and the exit code apart', async () => {
        const result = await runtime.exec(shared, { cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
        expect(result.stdout.toString()).toBe('out\n');
        expect(result.stderr.toString()).toBe('err\n');
        expect(result.exitCode).toBe(3);
        expect(result.timedOut).toBe(false);
      });

      it('answers a command that exits without reading its stdin with its exit code, every time', async () => {
        const input = Buffer.alloc(900_000, 0x78);
        for (let round = 0; round < 5; round += 1) {
          const result = await runtime.exec(shared, { cmd: ['true'], stdin: input });
          expect(result.exitCode).toBe(0);
        }
      });

      it('does not pass argv through a shell', async () => {
        const result = await runtime.exec(shared, { cmd: ['echo', '$(id)', ';', '`x`'] });
        expect(result.stdout.toString()).toBe('$(id) ; `x`\n');
      });

      it('applies the sandbox env, the exec env and the workdir', async () => {
        // `env` rather than printenv: Debian's static busybox has no printenv applet.
        const greeting = await runtime.exec(shared, { cmd: ['env'] });
        expect(greeting.stdout.toString().split('\n')).toContain('GREETING=hello');
        const result = await runtime.exec(shared, { cmd: ['env'], env: { EXTRA: 'a b=c' } });
        expect(result.stdout.toString().split('\n')).toContain('EXTRA=a b=c');
        expect((await runtime.exec(shared, { cmd: ['pwd'], workdir: '/tmp' })).stdout.toString()).toBe(
          '/tmp\n',
        );
      });

      it('feeds stdin through cat', async () => {
        const input = Buffer.concat([Buffer.from('line one\n'), randomBytes(4096)]);
        const result = await runtime.exec(shared, { cmd: ['cat'], stdin: input });
        expect(result.stdout.equals(input)).toBe(true);
      });

      it('gives an empty stdin when none is given', async () => {
        const result = await runtime.exec(shared, { cmd: ['cat'], timeoutMs: 10_000 });
        expect(result.timedOut).toBe(false);
        expect(result.stdout.length).toBe(0);
      });

      it('reports a missing command as exit code 127', async () => {
        const result = await runtime.exec(shared, { cmd: ['/no/such/command'] });
        expect(result.exitCode).toBe(127);
        expect(result.stderr.toString()).toMatch(/no such file/i);
      });

      it('kills a command at its timeout and says so', async () => {
        const started = Date.now();
        const result = await runtime.exec(shared, { cmd: ['sleep', '30'], timeoutMs: 500 });
        expect(result.timedOut).toBe(true);
        expect(result.exitCode).toBe(124);
        expect(Date.now() - started).toBeLessThan(10_000);
      });

      it('refuses an empty cmd', async () => {
        await expectCode(runtime.exec(shared, { cmd: [] }), 'VALIDATION_FAILED');
      });

      it('carries large output intact', async () => {
        const result = await runtime.exec(shared, {
          cmd: ['head', '-c', String(3 * 1024 * 1024), '/dev/zero'],
        });
        expect(result.stdout.length).toBe(3 * 1024 * 1024);
        expect(result.stdout.every((byte) => byte === 0)).toBe(true);
      });
    });

    describe('execStream', () => {
      it('streams events in order and ends with exit', async () => {
        const stream = await runtime.execStream(shared, {
          cmd: ['sh', '-c', 'echo one; echo two >&2; exit 4'],
        });
        const { stdout, stderr, events } = await drain(stream);
        expect(stdout).toBe('one\n');
        expect(stderr).toBe('two\n');
        expect(events.at(-1)).toEqual({ type: 'exit', exitCode: 4, timedOut: false });
        expect(events.filter((event) => event.type === 'exit')).toHaveLength(1);
      });

      it('takes stdin writes and close', async () => {
        const stream = await runtime.execStream(shared, { cmd: ['cat'], openStdin: true });
        await stream.stdin.write('first ');
        await stream.stdin.write(Buffer.from('second'));
        await stream.stdin.end();
        const { stdout, events } = await drain(stream);
        expect(stdout).toBe('first second');
        expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 0 });
      });

      it('kills the process on kill()', async () => {
        const stream = await runtime.execStream(shared, { cmd: ['sleep', '30'] });
        const started = Date.now();
        setTimeout(() => void stream.kill('SIGKILL'), 200);
        const { events } = await drain(stream);
        expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 137 });
        expect(Date.now() - started).toBeLessThan(10_000);
      });

      it('ends with the abort reason when the signal aborts', async () => {
        const controller = new AbortController();
        const stream = await runtime.execStream(shared, { cmd: ['sleep', '30'], signal: controller.signal });
        setTimeout(() => controller.abort(new Error('caller gave up')), 200);
        await expect(drain(stream)).rejects.toThrow('caller gave up');
      });
    });

    describe('files', () => {
      it('writes and reads back binary bytes', async () => {
        const data = randomBytes(256 * 1024);
        const written = await runtime.writeFile(shared, '/tmp/contract/data.bin', data);
        expect(written.bytes).toBe(data.length);
        const read = await runtime.readFile(shared, '/tmp/contract/data.bin');
        expect(read.info.size).toBe(data.length);
        expect((await readAll(read.body)).equals(data)).toBe(true);
      });

      it('lists and stats with sizes, modes and times', async () => {
        await runtime.writeFile(shared, '/tmp/listing/a.txt', 'abc');
        await runtime.mkdir(shared, '/tmp/listing/sub/deeper');
        const { entries } = await runtime.listDir(shared, '/tmp/listing');
        const byName = Object.fromEntries(entries.map((entry) => [entry.name, entry]));
        expect(Object.keys(byName).sort()).toEqual(['a.txt', 'sub']);
        expect(byName['a.txt']).toMatchObject({
          path: '/tmp/listing/a.txt',
          size: 3,
          isDir: false,
          mode: '-rw-r--r--',
        });
        expect(byName.sub).toMatchObject({ isDir: true });
        expect(byName.sub?.mode.startsWith('d')).toBe(true);
        const stat = await runtime.stat(shared, '/tmp/listing/a.txt');
        expect(stat.name).toBe('a.txt');
        expect(Math.abs(stat.modTime.getTime() - Date.now())).toBeLessThan(5 * 60_000);
        expect((await runtime.stat(shared, '/tmp/listing/sub/deeper')).isDir).toBe(true);
      });

      it('removes files and trees', async () => {
        await runtime.writeFile(shared, '/tmp/removal/x/y.txt', 'y');
        await runtime.removeFile(shared, '/tmp/removal');
        await expectCode(runtime.stat(shared, '/tmp/removal'), 'FILE_NOT_FOUND');
        await expectCode(runtime.removeFile(shared, '/tmp/removal'), 'FILE_NOT_FOUND');
      });

      it('names missing files, directories and bad paths', async () => {
        await expectCode(runtime.readFile(shared, '/tmp/does-not-exist'), 'FILE_NOT_FOUND');
        await expectCode(runtime.readFile(shared, '/tmp'), 'IS_A_DIRECTORY');
        await expectCode(runtime.writeFile(shared, '/tmp', 'x'), 'IS_A_DIRECTORY');
        await expectCode(runtime.readFile(shared, 'relative/path'), 'INVALID_PATH');
        await expectCode(runtime.readFile(shared, '/tmp/../etc/passwd'), 'INVALID_PATH');
        await expectCode(runtime.writeFile(shared, '/tmp/nul\0byte', 'x'), 'INVALID_PATH');
      });

      it('treats hostile names as data', async () => {
        const names = ['with space', 'quote\'"', '$(touch pwned)', 'new\nline', 'semi;colon'];
        for (const fileName of names) {
          await runtime.writeFile(shared, `/tmp/hostile/${fileName}`, fileName);
          const read = await runtime.readFile(shared, `/tmp/hostile/${fileName}`);
          expect((await readAll(read.body)).toString()).toBe(fileName);
        }
        const listed = (await runtime.listDir(shared, '/tmp/hostile')).entries
          .map((entry) => entry.name)
          .sort();
        expect(listed).toEqual([...names].sort());
        await expectCode(runtime.stat(shared, '/tmp/hostile/pwned'), 'FILE_NOT_FOUND');
      });

      it('refuses writes outside writable places with READ_ONLY', async () => {
        await expectCode(runtime.writeFile(shared, '/etc/burrow-test', 'x'), 'READ_ONLY');
      });
    });

    describe('snapshots', () => {
      it('captures tmpfs contents and configuration; restores into a new, independent sandbox', async () => {
        const id = await sandbox({
          env: { ORIGIN: 'snapshot' },
          memory: 256 * 1024 * 1024,
          labels: { kind: 'snap' },
        });
        await runtime.writeFile(id, '/tmp/kept.txt', 'kept in tmpfs');
        const snapshot = await runtime.snapshot(id, 'first');
        expect(snapshot).toMatchObject({ sandboxId: id, name: 'first' });
        expect(snapshot.id).toMatch(/^snap-/);
        expect(snapshot.size).toBeGreaterThan(0);

        const restored = await runtime.restore(snapshot.id);
        created.push(restored);
        expect(restored).not.toBe(id);
        const read = await runtime.readFile(restored, '/tmp/kept.txt');
        expect((await readAll(read.body)).toString()).toBe('kept in tmpfs');
        expect((await runtime.exec(restored, { cmd: ['env'] })).stdout.toString().split('\n')).toContain(
          'ORIGIN=snapshot',
        );
        const info = await runtime.info(restored);
        expect(info.status).toBe('running');
        expect(info.image).toBe(`burrow-snapshot:${snapshot.id}`);
        expect(info.labels).toEqual({ kind: 'snap' });
        expect(info.config?.memory).toBe(256 * 1024 * 1024);

        // Independence: a change in the restored sandbox does not reach the original, nor a second restore.
        await runtime.writeFile(restored, '/tmp/kept.txt', 'changed');
        const again = await runtime.restore(snapshot.id);
        created.push(again);
        expect((await readAll((await runtime.readFile(again, '/tmp/kept.txt')).body)).toString()).toBe(
          'kept in tmpfs',
        );
        expect((await readAll((await runtime.readFile(id, '/tmp/kept.txt')).body)).toString()).toBe(
          'kept in tmpfs',
        );

        const listed = await runtime.listSnapshots(id);
        expect(listed.map((entry) => entry.id)).toEqual([snapshot.id]);
        expect(listed[0]).toMatchObject({ name: 'first', sandboxId: id });
        await runtime.removeSnapshot(snapshot.id);
        expect(await runtime.listSnapshots(id)).toEqual([]);
        await expectCode(runtime.restore(snapshot.id), 'SNAPSHOT_NOT_FOUND');
        await expectCode(runtime.removeSnapshot(snapshot.id), 'SNAPSHOT_NOT_FOUND');
      });

      it('forks a running sandbox into independent copies, leaving no snapshot behind', async () => {
        const id = await sandbox({ env: { ORIGIN: 'fork' }, labels: { kind: 'fork' } });
        await runtime.writeFile(id, '/tmp/state.txt', 'before fork');
        const before = (await runtime.listSnapshots()).map((snapshot) => snapshot.id);
        const copies = [newSandboxId(), newSandboxId()];
        created.push(...copies);
        await runtime.fork(id, copies);
        expect((await runtime.listSnapshots()).map((snapshot) => snapshot.id)).toEqual(before);
        for (const copy of copies) {
          const info = await runtime.info(copy);
          expect(info.status).toBe('running');
          expect(info.labels).toEqual({ kind: 'fork' });
          expect((await readAll((await runtime.readFile(copy, '/tmp/state.txt')).body)).toString()).toBe(
            'before fork',
          );
          expect((await runtime.exec(copy, { cmd: ['env'] })).stdout.toString().split('\n')).toContain(
            'ORIGIN=fork',
          );
        }
        expect((await runtime.info(id)).status).toBe('running');
        await runtime.writeFile(copies[0] ?? '', '/tmp/state.txt', 'changed in a copy');
        expect((await readAll((await runtime.readFile(id, '/tmp/state.txt')).body)).toString()).toBe(
          'before fork',
        );
        expect(
          (await readAll((await runtime.readFile(copies[1] ?? '', '/tmp/state.txt')).body)).toString(),
        ).toBe('before fork');
        await runtime.remove(copies[0] ?? '');
        await runtime.remove(copies[1] ?? '');
        await runtime.pause(id);
        await expectCode(runtime.fork(id, [newSandboxId()]), 'SANDBOX_NOT_RUNNING');
        await runtime.resume(id);
      });

      it('snapshots a stopped sandbox', async () => {
        const id = await sandbox();
        await runtime.stop(id, 2000);
        const snapshot = await runtime.snapshot(id, 'stopped');
        expect(snapshot.sandboxId).toBe(id);
        await runtime.removeSnapshot(snapshot.id);
      });
    });

    describe('resources', () => {
      it('reports stats', async () => {
        const stats = await runtime.stats(shared);
        expect(stats.pidCount).toBeGreaterThan(0);
        expect(stats.memoryUsage).toBeGreaterThanOrEqual(0);
        expect(stats.cpuPercent).toBeGreaterThanOrEqual(0);
        expect(stats.timestamp).toBeInstanceOf(Date);
      });

      it('raises, lowers and removes a memory limit', async () => {
        const id = await sandbox({ memory: 128 * 1024 * 1024 });
        await runtime.updateMemoryLimit(id, 256 * 1024 * 1024);
        await runtime.updateMemoryLimit(id, 64 * 1024 * 1024);
        await runtime.updateMemoryLimit(id, 0);
        await expectCode(runtime.updateMemoryLimit(id, -5), 'VALIDATION_FAILED');
      });

      it('changes the CPU, memory and process limits of a running sandbox', async () => {
        const id = await sandbox({ memory: 128 * 1024 * 1024, pidLimit: 256 });
        await runtime.updateLimits(id, { cpu: 500_000_000, memory: 64 * 1024 * 1024, pidLimit: 64 });
        expect((await runtime.stats(id)).memoryLimit).toBe(64 * 1024 * 1024);
        await runtime.updateLimits(id, {});
        expect((await runtime.exec(id, { cmd: ['echo', 'ok'] })).stdout.toString()).toBe('ok\n');
        await expectCode(runtime.updateLimits(id, { pidLimit: -1 }), 'VALIDATION_FAILED');
        await expectCode(runtime.updateLimits('0000000000000000000a', { pidLimit: 10 }), 'SANDBOX_NOT_FOUND');
      });

      it('sets, reads and lifts a soft memory limit, never above the hard one', async () => {
        const id = await sandbox({ memory: 128 * 1024 * 1024 });
        await runtime.updateMemorySoftLimit(id, 64 * 1024 * 1024);
        const limited = await runtime.memory(id);
        expect(limited.softLimit).toBe(64 * 1024 * 1024);
        expect(limited.usage).toBeGreaterThanOrEqual(0);
        await runtime.updateMemorySoftLimit(id, 512 * 1024 * 1024);
        expect((await runtime.memory(id)).softLimit).toBe(128 * 1024 * 1024);
        await runtime.updateMemorySoftLimit(id, 0);
        expect((await runtime.memory(id)).softLimit).toBe(0);
        await expectCode(runtime.updateMemorySoftLimit(id, -1), 'VALIDATION_FAILED');
        await expectCode(runtime.memory(newSandboxId()), 'SANDBOX_NOT_FOUND');
      });

      it('marks warm-pool members, and only them', async () => {
        const id = newSandboxId();
        created.push(id);
        await runtime.create(id, { image: target.image, ...target.defaults }, { pool: 'k1' });
        await runtime.start(id);
        expect((await runtime.info(id)).pool).toBe('k1');
        expect((await runtime.list()).find((info) => info.id === id)?.pool).toBe('k1');
        expect((await runtime.info(shared)).pool).toBeUndefined();
      });
    });

    fidelityContract({
      runtime: () => runtime,
      target: () => target,
      sandbox,
      track: (id) => created.push(id),
    });

    describe('events', () => {
      it('reports a sandbox dying', async () => {
        const id = await sandbox();
        const controller = new AbortController();
        const seen: string[] = [];
        const watching = (async () => {
          for await (const event of runtime.events(controller.signal)) {
            if (event.id !== id) continue;
            seen.push(event.type);
            if (event.type === 'died') return;
          }
        })();
        await new Promise((resolve) => setTimeout(resolve, 200));
        await runtime.stop(id, 1000);
        await watching;
        controller.abort();
        expect(seen).toContain('died');
      });
    });
  });
}
