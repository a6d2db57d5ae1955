/** The SDK against an in-process fake of the API: wire mapping, streams, errors (the real server: e2e tests). */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
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
  TimeoutError,
} from './index.js';
import { CommandStream } from './command-stream.js';
import { HttpClient } from './http.js';
import { nodePlatform } from './platform-node.js';
import { startFakeApi, type FakeApi } from './test-support/fake-api.js';

let api: FakeApi;
let burrow: Burrow;

beforeAll(async () => {
  api = await startFakeApi();
  burrow = new Burrow({ url: api.url });
});
afterAll(() => api.close());

async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Burrow', () => {
  it('reads BURROW_URL and BURROW_API_KEY', () => {
    const saved = { ...process.env };
    process.env.BURROW_URL = 'http://example.invalid:1/';
    try {
      expect(new Burrow().url).toBe('http://example.invalid:1');
      expect(new Burrow({ url: 'http://x:2' }).url).toBe('http://x:2');
      delete process.env.BURROW_URL;
      expect(new Burrow().url).toBe('http://127.0.0.1:8080');
    } finally {
      process.env = saved;
    }
  });

  it('creates, gets, lists, stops, starts and destroys', async () => {
    const sandbox = await burrow.create({ image: 'img', labels: { team: 'a' } });
    expect(sandbox.info).toMatchObject({
      image: 'img',
      status: 'running',
      labels: { team: 'a' },
      expiresAt: null,
    });
    expect((await burrow.get(sandbox.id)).info.ip).toBe('10.0.0.2');
    expect((await burrow.list()).map((item) => item.id)).toContain(sandbox.id);
    await sandbox.stop();
    expect(sandbox.info.status).toBe('stopped');
    await expect(sandbox.commands.run(['echo', 'x'])).rejects.toBeInstanceOf(SandboxNotRunningError);
    await sandbox.start();
    const info = await sandbox.setTimeout(60);
    expect(info.expiresAt?.getTime()).toBeGreaterThan(Date.now());
    expect((await sandbox.stats()).memoryLimit).toBe(4096);
    await sandbox.destroy();
    await expect(burrow.get(sandbox.id)).rejects.toBeInstanceOf(SandboxNotFoundError);
  });

  it('pauses, resumes and forks', async () => {
    const sandbox = await burrow.create({});
    const paused = await sandbox.pause();
    expect(paused.status).toBe('paused');
    expect(paused.pausedAt).toBeInstanceOf(Date);
    expect(sandbox.info.status).toBe('paused');
    expect((await sandbox.resume()).status).toBe('running');
    const copies = await sandbox.fork(2);
    expect(copies.map((copy) => copy.info.status)).toEqual(['running', 'running']);
    expect(new Set([sandbox.id, ...copies.map((copy) => copy.id)]).size).toBe(3);
    expect(api.requests).toContain(`POST /api/v1/sandboxes/${sandbox.id}/fork`);
    await sandbox.stop();
    await expect(sandbox.pause()).rejects.toBeInstanceOf(SandboxNotRunningError);
    for (const copy of [sandbox, ...copies]) await copy.destroy();
  });

  it('destroys on `await using`', async () => {
    let id = '';
    {
      await using sandbox = await burrow.create();
      id = sandbox.id;
    }
    expect(api.sandboxes.has(id)).toBe(false);
  });

  it('reports health and version', async () => {
    expect(await burrow.health()).toEqual({ ok: true, features: ['network_mode'] });
    expect(await burrow.version()).toMatchObject({ version: '9.9.9', buildDate: 'today', api: 'v1' });
  });

  it('turns a refused connection into ConnectionError with the URL', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`;
    const error = await new Burrow({ url }).list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).message).toContain(url);
    expect((error as ConnectionError).message).toContain('burrow serve');
    const sandbox = await burrow.create();
    const detached = await new Burrow({ url }).list().catch(() => sandbox);
    expect(detached).toBe(sandbox);
  });

  it('enforces its deadline and the caller signal', async () => {
    const slow = new Burrow({ url: api.url, timeoutMs: 50, fetch: () => new Promise(() => undefined) });
    await expect(slow.list()).rejects.toBeInstanceOf(TimeoutError);
    const hanging = new Burrow({
      url: api.url,
      fetch: (_input, init) =>
        new Promise((_resolve, reject) =>
          init?.signal?.addEventListener('abort', () => reject(new DOMException('x', 'AbortError'))),
        ),
    });
    const sandbox = await burrow.create();
    const controller = new AbortController();
    const pending = hanging.create({ signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    await sandbox.destroy();
  });

  it('maps 401 and 429 with Retry-After', async () => {
    const keyed = await startFakeApi({ apiKey: 'k' });
    const limited = await startFakeApi({ rateLimitRetryAfter: '4' });
    try {
      await expect(new Burrow({ url: keyed.url }).list()).rejects.toBeInstanceOf(AuthenticationError);
      expect(await new Burrow({ url: keyed.url, apiKey: 'k' }).list()).toEqual([]);
      const error = await new Burrow({ url: limited.url }).list().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RateLimitError);
      expect((error as RateLimitError).retryAfterSeconds).toBe(4);
    } finally {
      await keyed.close();
      await limited.close();
    }
  });
});

describe('commands', () => {
  it('runs argv and shell strings; non-zero exit is a result', async () => {
    await using sandbox = await burrow.create();
    expect(await sandbox.commands.run(['echo', 'hi'])).toEqual({
      exitCode: 0,
      stdout: 'hi\n',
      stderr: '',
      timedOut: false,
      truncated: false,
    });
    expect(await sandbox.commands.run('exit 3')).toMatchObject({ exitCode: 3 });
    expect(await sandbox.commands.run(['cat'], { stdin: 'fed' })).toMatchObject({ stdout: 'fed' });
  });

  it('streams output to callbacks', async () => {
    await using sandbox = await burrow.create();
    const seen: string[] = [];
    const result = await sandbox.commands.run(['warn', 'oops'], { onStderr: (data) => seen.push(data) });
    expect(seen).toEqual(['oops\n']);
    expect(result).toMatchObject({ exitCode: 0, stderr: 'oops\n' });
  });

  it('iterates a stream and writes its stdin', async () => {
    await using sandbox = await burrow.create();
    const proc = await sandbox.commands.stream(['cat'], { stdin: true });
    proc.stdin.write('a');
    proc.stdin.write(new TextEncoder().encode('é'));
    proc.stdin.end();
    const events = [];
    for await (const event of proc) events.push(event);
    expect(events.at(-1)).toEqual({ type: 'exit', exitCode: 0, timedOut: false });
    expect(
      events
        .filter((event) => event.type === 'stdout')
        .map((event) => (event as { data: string }).data)
        .join(''),
    ).toBe('aé');
    expect((await proc.wait()).stdout).toBe('aé');
  });

  it('kills, and aborts with AbortedError', async () => {
    await using sandbox = await burrow.create();
    const proc = await sandbox.commands.stream('sleep 30');
    proc.kill('SIGINT');
    expect((await proc.wait()).exitCode).toBe(130);
    const controller = new AbortController();
    const running = sandbox.commands.run('sleep 30', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(running).rejects.toBeInstanceOf(AbortedError);
    const closed = await sandbox.commands.stream('sleep 30');
    closed.close();
    await expect(closed.wait()).rejects.toBeInstanceOf(AbortedError);
  });

  it('reports stream errors as typed errors', async () => {
    const sandbox = await burrow.create();
    await sandbox.destroy();
    const proc = await sandbox.commands.stream(['echo', 'x']);
    await expect(proc.wait()).rejects.toBeInstanceOf(SandboxNotFoundError);
    const keyed = await startFakeApi({ apiKey: 'k' });
    try {
      const keyless = new HttpClient({ url: keyed.url, timeoutMs: 0, platform: nodePlatform });
      await expect(CommandStream.open(keyless, 'sb1', 'echo x')).rejects.toBeInstanceOf(AuthenticationError);
    } finally {
      await keyed.close();
    }
  });
});

describe('files', () => {
  it('writes, reads, lists, stats, removes', async () => {
    await using sandbox = await burrow.create();
    expect(await sandbox.files.write('/tmp/a.txt', 'hello')).toEqual({ bytes: 5 });
    expect(await sandbox.files.readText('/tmp/a.txt')).toBe('hello');
    expect(await sandbox.files.read('/tmp/a.txt')).toEqual(new TextEncoder().encode('hello'));
    expect((await sandbox.files.list('/tmp')).map((entry) => entry.name)).toEqual(['a.txt']);
    expect(await sandbox.files.stat('/tmp/a.txt')).toMatchObject({ name: 'a.txt', size: 5, isDir: false });
    expect(await sandbox.files.exists('/tmp/a.txt')).toBe(true);
    await sandbox.files.mkdir('/tmp/d');
    await sandbox.files.remove('/tmp/a.txt');
    expect(await sandbox.files.exists('/tmp/a.txt')).toBe(false);
    await expect(sandbox.files.read('/tmp/a.txt')).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('streams bodies from iterables and streams, with progress', async () => {
    await using sandbox = await burrow.create();
    async function* chunks() {
      for (let i = 0; i < 10; i++) yield new Uint8Array(1000).fill(i);
    }
    const progress: number[] = [];
    await sandbox.files.write('/tmp/big', chunks(), { onProgress: (done) => progress.push(done) });
    expect(progress.at(-1)).toBe(10_000);
    const stream = await sandbox.files.readStream('/tmp/big');
    let total = 0;
    for await (const chunk of stream) total += chunk.byteLength;
    expect(total).toBe(10_000);
    await sandbox.files.write('/tmp/blob', new Blob(['xyz']));
    expect(await sandbox.files.readText('/tmp/blob')).toBe('xyz');
  });

  it('uploads and downloads local files', async () => {
    await using sandbox = await burrow.create();
    const dir = await mkdtemp(join(tmpdir(), 'burrow-sdk-'));
    try {
      await writeFile(join(dir, 'in.bin'), Buffer.alloc(300_000, 7));
      const seen: [number, number | undefined][] = [];
      await sandbox.files.upload(join(dir, 'in.bin'), '/tmp/in.bin', {
        onProgress: (done, total) => seen.push([done, total]),
      });
      expect(seen.at(-1)).toEqual([300_000, 300_000]);
      expect(await sandbox.files.download('/tmp/in.bin', join(dir, 'out.bin'))).toBe(300_000);
      expect((await readFile(join(dir, 'out.bin'))).equals(Buffer.alloc(300_000, 7))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('snapshots', () => {
  it('creates, lists, restores and deletes', async () => {
    await using sandbox = await burrow.create();
    const snapshot = await sandbox.snapshots.create('s1');
    expect(snapshot).toMatchObject({ sandboxId: sandbox.id, name: 's1' });
    expect((await sandbox.snapshots.list()).map((item) => item.id)).toEqual([snapshot.id]);
    await using restored = await burrow.snapshots.restore(snapshot.id);
    expect(restored.id).not.toBe(sandbox.id);
    await burrow.snapshots.delete(snapshot.id);
    await expect(burrow.snapshots.delete(snapshot.id)).rejects.toBeInstanceOf(SnapshotNotFoundError);
  });
});

describe('Den', () => {
  it("keeps Den's surface and error shape", async () => {
    const den = new Den({ url: `${api.url}/` });
    const versionCalls = () => api.requests.filter((request) => request === 'GET /api/v1/version').length;
    const before = versionCalls();
    expect(await den.health()).toBe(true);
    expect(await new Den({ url: `http://127.0.0.1:${await deadPort()}` }).health()).toBe(false);
    expect((await den.version()).version).toBe('9.9.9');
    const sandbox = await den.sandbox.create({ image: 'img', network_mode: 'none' });
    await den.sandbox.destroy((await den.sandbox.create({ network_mode: 'none' })).id);
    expect(sandbox).toMatchObject({ image: 'img', status: 'running' });
    expect(await sandbox.exec(['echo', 'x'])).toMatchObject({ exit_code: 0, stdout: 'x\n' });
    await sandbox.writeFile('/tmp/f', 'data');
    expect(await sandbox.readFile('/tmp/f')).toBe('data');
    expect((await sandbox.listFiles('/tmp'))[0]).toMatchObject({ name: 'f', is_dir: false });
    await sandbox.mkdir('/tmp/d');
    await sandbox.removeFile('/tmp/f');
    const snapshot = await sandbox.snapshot('n');
    expect((await sandbox.listSnapshots())[0]?.id).toBe(snapshot.id);
    const restored = await den.sandbox.restoreSnapshot(snapshot.id);
    await den.sandbox.deleteSnapshot(snapshot.id);
    expect((await sandbox.stats()).pid_count).toBe(5);
    await sandbox.stop();
    expect((await den.sandbox.list()).length).toBeGreaterThanOrEqual(2);
    await sandbox.destroy();
    await den.sandbox.destroy(restored.id);
    const error = await den.sandbox.get(sandbox.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DenError);
    expect(error).toMatchObject({
      statusCode: 404,
      message: 'API error (404): sandbox not found',
      code: 'SANDBOX_NOT_FOUND',
    });
    // The feature probe ran once, before the first create with network_mode.
    expect(versionCalls() - before).toBe(2);
  });
});
