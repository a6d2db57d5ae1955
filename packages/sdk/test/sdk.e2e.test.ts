/** Every method of both SDK surfaces against a real server (Docker, test images). */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  AuthenticationError,
  Burrow,
  ConnectionError,
  Den,
  DenError,
  FileNotFoundError,
  RateLimitError,
  SandboxNotFoundError,
  SandboxNotRunningError,
  SnapshotNotFoundError,
  type Sandbox,
} from '@burrow/sdk';
import { freePort, startTestServer, TEST_IMAGE, type TestServer } from '../../../test/support/server.js';

let server: TestServer;
let burrow: Burrow;
let sandbox: Sandbox;

beforeAll(async () => {
  server = await startTestServer();
  burrow = new Burrow({ url: server.url });
  sandbox = await burrow.create({ labels: { suite: 'sdk' }, env: { GREETING: 'hi' }, timeoutSeconds: 900 });
});
afterAll(async () => {
  await sandbox?.destroy().catch(() => undefined);
  await server?.close();
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('Burrow client', () => {
  it('reports health and version', async () => {
    expect(await burrow.health()).toMatchObject({ ok: true });
    const version = await burrow.version();
    expect(version.version).toMatch(/\d+\.\d+\.\d+/);
    expect(version.features).toContain('network_mode');
  });

  it('creates with options, gets, lists and refreshes', async () => {
    expect(sandbox.info).toMatchObject({ image: TEST_IMAGE, status: 'running', labels: { suite: 'sdk' } });
    expect(sandbox.info.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 800_000);
    const fetched = await burrow.get(sandbox.id);
    expect(fetched.info.id).toBe(sandbox.id);
    expect((await burrow.list()).map((item) => item.id)).toContain(sandbox.id);
    expect((await sandbox.refresh()).status).toBe('running');
    expect((await sandbox.commands.run('echo $GREETING')).stdout).toBe('hi\n');
  });

  it('extends the lifetime and reports stats', async () => {
    const info = await sandbox.setTimeout(3600);
    expect(info.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
    const stats = await sandbox.stats();
    expect(stats.pidCount).toBeGreaterThan(0);
    expect(stats.memoryUsage).toBeGreaterThan(0);
  });

  it('destroys a sandbox at the end of an `await using` scope', async () => {
    let id = '';
    {
      await using scoped = await burrow.create();
      id = scoped.id;
      expect((await scoped.commands.run(['true'])).exitCode).toBe(0);
    }
    await expect(burrow.get(id)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it('stops and starts; a stopped sandbox refuses commands with SandboxNotRunningError', async () => {
    await using other = await burrow.create();
    await other.stop();
    expect((await other.refresh()).status).toBe('stopped');
    await expect(other.commands.run(['true'])).rejects.toBeInstanceOf(SandboxNotRunningError);
    await other.start();
    expect((await other.commands.run(['echo', 'back'])).stdout).toBe('back\n');
  });
});

describe('commands', () => {
  it('runs argv and shell strings with env, cwd and stdin; non-zero exit is a result', async () => {
    expect(await sandbox.commands.run(['echo', 'a b'])).toEqual({
      exitCode: 0,
      stdout: 'a b\n',
      stderr: '',
      timedOut: false,
      truncated: false,
    });
    expect(await sandbox.commands.run('echo out; echo err >&2; exit 4')).toMatchObject({
      exitCode: 4,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    expect((await sandbox.commands.run('pwd', { cwd: '/tmp' })).stdout).toBe('/tmp\n');
    expect((await sandbox.commands.run('echo $X', { env: { X: 'y' } })).stdout).toBe('y\n');
    expect((await sandbox.commands.run(['cat'], { stdin: 'fed in' })).stdout).toBe('fed in');
  });

  it('kills a command at its timeout', async () => {
    const result = await sandbox.commands.run(['sleep', '30'], { timeoutMs: 1000 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).not.toBe(0);
  });

  it('streams output live through callbacks', async () => {
    // The command waits for a file that the test writes only once "one" has arrived: output that were not live
    // would never arrive, and the command would run into its timeout. No clock involved.
    const go = `/tmp/go-${randomBytes(4).toString('hex')}`;
    const chunks: string[] = [];
    const result = await sandbox.commands.run(
      `echo one; while [ ! -e ${go} ]; do sleep 0.1; done; echo two`,
      {
        timeoutMs: 60_000,
        onStdout: (data) => {
          chunks.push(data);
          if (data.includes('one')) void sandbox.files.write(go, '');
        },
      },
    );
    expect(result).toMatchObject({ exitCode: 0, stdout: 'one\ntwo\n', timedOut: false });
    expect(chunks.join('')).toBe('one\ntwo\n');
  });

  it('writes to stdin of a stream and iterates its events', async () => {
    const proc = await sandbox.commands.stream(
      ['python3', '-c', 'import sys\nfor line in sys.stdin: print(line.upper(), end="")'],
      {
        stdin: true,
      },
    );
    proc.stdin.write('hello\n');
    proc.stdin.write(new TextEncoder().encode('wörld\n'));
    proc.stdin.end();
    const events = [];
    for await (const event of proc) events.push(event);
    expect(events.at(-1)).toEqual({ type: 'exit', exitCode: 0, timedOut: false });
    expect((await proc.wait()).stdout).toBe('HELLO\nWÖRLD\n');
  });

  it('signals and kills streamed commands', async () => {
    const interrupted = await sandbox.commands.stream(['sleep', '60']);
    setTimeout(() => interrupted.kill('SIGINT'), 300);
    expect((await interrupted.wait()).exitCode).not.toBe(0);
    const killed = await sandbox.commands.stream(['sleep', '60']);
    setTimeout(() => killed.kill(), 300);
    expect((await killed.wait()).exitCode).toBe(137);
  });

  it('aborts through a signal, and closing a stream stops the remote process', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 500);
    await expect(sandbox.commands.run(['sleep', '60'], { signal: controller.signal })).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(Date.now() - started).toBeLessThan(10_000);

    const proc = await sandbox.commands.stream('echo $$ > /tmp/closed.pid; exec sleep 60');
    await new Promise((resolve) => setTimeout(resolve, 500));
    proc.close();
    await expect(proc.wait()).rejects.toBeInstanceOf(AbortedError);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await sandbox.commands.run('kill -0 $(cat /tmp/closed.pid)')).exitCode).not.toBe(0);
  });
});

describe('files', () => {
  it('writes, reads, lists, stats, makes directories and removes', async () => {
    await sandbox.files.mkdir('/home/sandbox/dir/sub');
    expect(await sandbox.files.write('/home/sandbox/dir/a.txt', 'alpha')).toEqual({ bytes: 5 });
    await sandbox.files.write('/home/sandbox/dir/b.bin', new Uint8Array([0, 1, 2, 255]));
    expect(await sandbox.files.readText('/home/sandbox/dir/a.txt')).toBe('alpha');
    expect(await sandbox.files.read('/home/sandbox/dir/b.bin')).toEqual(new Uint8Array([0, 1, 2, 255]));
    const names = (await sandbox.files.list('/home/sandbox/dir')).map((entry) => entry.name).sort();
    expect(names).toEqual(['a.txt', 'b.bin', 'sub']);
    expect(await sandbox.files.stat('/home/sandbox/dir/sub')).toMatchObject({ isDir: true, name: 'sub' });
    expect(await sandbox.files.stat('/home/sandbox/dir/a.txt')).toMatchObject({ isDir: false, size: 5 });
    await sandbox.files.remove('/home/sandbox/dir');
    expect(await sandbox.files.exists('/home/sandbox/dir')).toBe(false);
    await expect(sandbox.files.read('/home/sandbox/dir/a.txt')).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(sandbox.files.stat('/home/sandbox/nope')).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('streams 50 MB in and out', async () => {
    const size = 50 * 1024 * 1024;
    const block = randomBytes(1024 * 1024);
    const expected = createHash('sha256');
    async function* chunks() {
      for (let i = 0; i < size / block.length; i++) {
        expected.update(block);
        yield block;
      }
    }
    expect(await sandbox.files.write('/tmp/big.bin', chunks())).toEqual({ bytes: size });
    const stream = await sandbox.files.readStream('/tmp/big.bin');
    const actual = createHash('sha256');
    let total = 0;
    for await (const chunk of stream) {
      actual.update(chunk);
      total += chunk.byteLength;
    }
    expect(total).toBe(size);
    const digest = expected.digest('hex');
    expect(actual.digest('hex')).toBe(digest);
    expect((await sandbox.commands.run('sha256sum /tmp/big.bin')).stdout.split(' ')[0]).toBe(digest);
  });

  it('uploads and downloads local files without buffering them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'burrow-sdk-e2e-'));
    try {
      const data = randomBytes(20 * 1024 * 1024);
      await writeFile(join(dir, 'in.bin'), data);
      const progress: number[] = [];
      await sandbox.files.upload(join(dir, 'in.bin'), '/tmp/in.bin', {
        onProgress: (done) => progress.push(done),
      });
      expect(progress.at(-1)).toBe(data.length);
      expect((await sandbox.commands.run('sha256sum /tmp/in.bin')).stdout.split(' ')[0]).toBe(sha256(data));
      expect(await sandbox.files.download('/tmp/in.bin', join(dir, 'out.bin'))).toBe(data.length);
      expect(sha256(await readFile(join(dir, 'out.bin')))).toBe(sha256(data));
      await sandbox.files.write('/tmp/from-node-stream.bin', createReadStream(join(dir, 'in.bin')));
      expect((await sandbox.files.stat('/tmp/from-node-stream.bin')).size).toBe(data.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('snapshots', () => {
  it('create, list, restore (with tmpfs contents) and delete', async () => {
    await sandbox.files.write('/home/sandbox/state.txt', 'kept');
    const snapshot = await sandbox.snapshots.create('e2e');
    expect(snapshot).toMatchObject({ sandboxId: sandbox.id, name: 'e2e' });
    expect((await sandbox.snapshots.list()).map((item) => item.id)).toContain(snapshot.id);
    const restored = await burrow.snapshots.restore(snapshot.id);
    try {
      expect(restored.id).not.toBe(sandbox.id);
      expect(await restored.files.readText('/home/sandbox/state.txt')).toBe('kept');
    } finally {
      await restored.destroy();
    }
    await burrow.snapshots.delete(snapshot.id);
    await expect(burrow.snapshots.delete(snapshot.id)).rejects.toBeInstanceOf(SnapshotNotFoundError);
    await expect(burrow.snapshots.restore(snapshot.id)).rejects.toBeInstanceOf(SnapshotNotFoundError);
  });
});

describe('typed errors', () => {
  it('404 for an unknown sandbox, over HTTP and over the stream', async () => {
    await expect(burrow.get('doesnotexist0000000')).rejects.toBeInstanceOf(SandboxNotFoundError);
    const gone = await burrow.create();
    await gone.destroy();
    await expect(gone.commands.run(['true'])).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(gone.commands.stream(['true']).then((proc) => proc.wait())).rejects.toBeInstanceOf(
      SandboxNotFoundError,
    );
  });

  it('ConnectionError when nothing listens', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const error = await new Burrow({ url }).list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toContain(url);
  });

  it('401 from a server with keys; the right key works', async () => {
    const keyed = await startTestServer({ apiKeys: ['e2e-key'] });
    try {
      await expect(new Burrow({ url: keyed.url }).list()).rejects.toBeInstanceOf(AuthenticationError);
      await expect(new Burrow({ url: keyed.url, apiKey: 'wrong' }).list()).rejects.toBeInstanceOf(
        AuthenticationError,
      );
      const client = new Burrow({ url: keyed.url, apiKey: 'e2e-key' });
      await using owned = await client.create();
      expect((await owned.commands.stream(['echo', 'streamed']).then((proc) => proc.wait())).stdout).toBe(
        'streamed\n',
      );
      expect(await new Burrow({ url: keyed.url }).health()).toMatchObject({ ok: true });
    } finally {
      await keyed.close();
    }
  });

  it('429 with Retry-After from a rate-limited server', async () => {
    const limited = await startTestServer({
      config: { server: { rate_limit_rps: 0.1, rate_limit_burst: 2 } },
    });
    try {
      const client = new Burrow({ url: limited.url });
      const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => client.list()));
      const rejected = results.find((result) => result.status === 'rejected') as
        PromiseRejectedResult | undefined;
      expect(rejected?.reason).toBeInstanceOf(RateLimitError);
      expect((rejected?.reason as RateLimitError).retryAfterSeconds).toBeGreaterThan(0);
    } finally {
      await limited.close();
    }
  });
});

describe('Den surface', () => {
  it('runs the Den SDK flow unchanged', async () => {
    const den = new Den({ url: server.url });
    expect(await den.health()).toBe(true);
    expect((await den.version()).features).toContain('network_mode');
    const sb = await den.sandbox.create({ image: TEST_IMAGE, network_mode: 'none' });
    try {
      expect(sb).toMatchObject({ image: TEST_IMAGE, status: 'running' });
      expect(await sb.exec(['sh', '-c', 'echo den; exit 2'])).toMatchObject({
        exit_code: 2,
        stdout: 'den\n',
      });
      await sb.mkdir('/tmp/den');
      await sb.writeFile('/tmp/den/f.txt', 'content');
      expect(await sb.readFile('/tmp/den/f.txt')).toBe('content');
      expect((await sb.listFiles('/tmp/den')).map((file) => file.name)).toEqual(['f.txt']);
      await sb.removeFile('/tmp/den/f.txt');
      expect(await sb.listFiles('/tmp/den')).toEqual([]);
      expect((await sb.stats()).pid_count).toBeGreaterThan(0);
      const snapshot = await sb.snapshot('den-snap');
      expect((await sb.listSnapshots()).map((item) => item.id)).toContain(snapshot.id);
      const restored = await den.sandbox.restoreSnapshot(snapshot.id);
      expect(restored.status).toBe('running');
      await den.sandbox.destroy(restored.id);
      await den.sandbox.deleteSnapshot(snapshot.id);
      expect((await den.sandbox.list()).map((item) => item.id)).toContain(sb.id);
      expect((await den.sandbox.get(sb.id)).id).toBe(sb.id);
      await sb.stop();
    } finally {
      await sb.destroy();
    }
    const error = await den.sandbox.get(sb.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DenError);
    expect(error).toMatchObject({ statusCode: 404, message: 'API error (404): sandbox not found' });
  });
});
