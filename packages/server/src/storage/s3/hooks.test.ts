import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../logger.js';
import { FakeRuntime } from '../../runtime/fake/fake-runtime.js';
import type { FileInfo, Runtime, S3SyncConfig } from '../../runtime/runtime.js';
import { createS3Client, fromS3Error, type S3Connection } from './client.js';
import { resolveS3, type S3ServerConfig } from './credentials.js';
import { S3Hooks } from './hooks.js';
import { SsrfPolicy } from './ssrf.js';
import { S3RVER_KEY, startS3rver, type TestS3Server } from './test-support/s3rver.js';

const BUCKET = 'hooks-bucket';
/** s3rver does not verify signatures, so any secret works with its key id; this one must never be logged. */
const SECRET = 'hooks-secret-that-must-not-leak';
let s3: TestS3Server;
let server: S3ServerConfig;
let policy: SsrfPolicy;
let connection: S3Connection;
let runtime: FakeRuntime;
const lines: Array<{ level: string; details: object; message?: string | undefined }> = [];

function recordingLogger(): Logger {
  const log = (level: string) => (details: object, message?: string) =>
    void lines.push({ level, details, message });
  const logger: Logger = {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: () => logger,
  };
  return logger;
}

const hooks = new S3Hooks({ logger: recordingLogger() });

async function sandbox(id: string): Promise<string> {
  await runtime.create(id, { image: 'test' });
  await runtime.start(id);
  return id;
}

async function readText(id: string, path: string): Promise<string> {
  const file = await runtime.readFile(id, path);
  const chunks: Buffer[] = [];
  for await (const chunk of file.body) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

async function listKeys(prefix: string): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  for await (const page of paginateListObjectsV2(
    { client: connection.client },
    { Bucket: BUCKET, Prefix: prefix },
  )) {
    for (const object of page.Contents ?? []) keys.set(object.Key ?? '', object.Size ?? -1);
  }
  return keys;
}

function sync(prefix: string, syncPath?: string): S3SyncConfig {
  return { bucket: BUCKET, prefix, mode: 'hooks', ...(syncPath === undefined ? {} : { syncPath }) };
}

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  server = {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKey: S3RVER_KEY,
    secretKey: SECRET,
    allowInternalEndpoint: true,
  };
  policy = new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: s3.endpoint });
  connection = await createS3Client(resolveS3({ bucket: BUCKET }, server), policy);
  runtime = new FakeRuntime();
});

afterAll(async () => {
  connection.destroy();
  await s3.stop();
});

describe('S3Hooks against s3rver', () => {
  it('round-trips 1,500 nested objects: upload, download elsewhere, upload to another prefix', async () => {
    const source = await sandbox('sbx-source');
    const expected = new Map<string, string>();
    for (let i = 0; i < 1500; i += 1) {
      const relative = `d${i % 10}/sub${i % 7}/deeper${i % 3}/file-${i}.txt`;
      const content = `object ${i} ${'x'.repeat(i % 50)}`;
      expected.set(relative, content);
      await runtime.writeFile(source, `/home/sandbox/${relative}`, content);
    }
    const up = await hooks.upload(runtime, source, sync('round/'), connection);
    expect(up).toMatchObject({
      direction: 'upload',
      objects: 1500,
      failures: [],
      skipped: [],
      timedOut: false,
      syncPath: '/home/sandbox',
    });
    const uploaded = await listKeys('round/');
    expect(uploaded.size).toBe(1500);
    expect([...uploaded.keys()].every((key) => key.startsWith('round/d') && !key.includes('//'))).toBe(true);

    const copy = await sandbox('sbx-copy');
    const down = await hooks.download(runtime, copy, sync('round', '/tmp/work'), connection);
    expect(down).toMatchObject({
      direction: 'download',
      objects: 1500,
      failures: [],
      skipped: [],
      timedOut: false,
    });
    expect(down.bytes).toBe(up.bytes);
    for (const [relative, content] of [...expected].filter((_, index) => index % 97 === 0)) {
      expect(await readText(copy, `/tmp/work/${relative}`)).toBe(content);
    }

    const again = await hooks.upload(runtime, copy, sync('copy', '/tmp/work'), connection);
    expect(again.objects).toBe(1500);
    const copied = await listKeys('copy/');
    expect([...copied].map(([key, size]) => [key.slice('copy/'.length), size]).sort()).toEqual(
      [...uploaded].map(([key, size]) => [key.slice('round/'.length), size]).sort(),
    );
    const body = await connection.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'copy/d3/sub3/deeper0/file-3.txt' }),
    );
    expect(await body.Body?.transformToString()).toBe(expected.get('d3/sub3/deeper0/file-3.txt'));
  }, 120_000);

  it('joins keys without doubled slashes for every prefix form', async () => {
    const id = await sandbox('sbx-keys');
    await runtime.writeFile(id, '/home/sandbox/a/b.txt', 'b');
    await runtime.writeFile(id, '/home/sandbox/a.txt', 'a');
    await hooks.upload(runtime, id, sync('slash/'), connection);
    await hooks.upload(runtime, id, sync('noslash'), connection);
    expect([...(await listKeys('slash/')).keys()].sort()).toEqual(['slash/a.txt', 'slash/a/b.txt']);
    expect([...(await listKeys('noslash/')).keys()].sort()).toEqual(['noslash/a.txt', 'noslash/a/b.txt']);
  });

  it('reports per-object failures and keeps going', async () => {
    await connection.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'clash/x', Body: 'file x' }));
    await connection.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'clash/y/z', Body: 'z' }));
    const id = await sandbox('sbx-clash');
    await runtime.mkdir(id, '/home/sandbox/x'); // a directory where the object x should land
    const report = await hooks.download(runtime, id, sync('clash'), connection);
    expect(report.objects).toBe(1);
    expect(report.failures).toEqual([
      {
        key: 'clash/x',
        path: '/home/sandbox/x',
        code: 'IS_A_DIRECTORY',
        error: expect.any(String) as string,
      },
    ]);
    expect(await readText(id, '/home/sandbox/y/z')).toBe('z');
  });

  it('a missing bucket or sync path is one reported failure, not a throw', async () => {
    const id = await sandbox('sbx-missing');
    const missing = await hooks.download(runtime, id, { ...sync('p'), bucket: 'no-such-bucket' }, connection);
    expect(missing.failures).toEqual([
      {
        key: 'p',
        code: 'S3_NOT_FOUND',
        error: expect.stringMatching(/^bucket no-such-bucket does not exist/) as string,
      },
    ]);
    const noDir = await hooks.upload(runtime, id, sync('p', '/tmp/not-there'), connection);
    expect(noDir.failures).toMatchObject([{ path: '/tmp/not-there', code: 'FILE_NOT_FOUND' }]);
  });

  it('stops at the time budget and says so', async () => {
    const id = await sandbox('sbx-budget');
    const report = await hooks.download(runtime, id, sync('round'), connection, { budgetMs: 1 });
    expect(report.timedOut).toBe(true);
    expect(report.objects).toBeLessThan(1500);
  });

  it('abandons a run whose sandbox stops answering, once its budget and a grace period are spent', async () => {
    // A sandbox that never answers a listing (a stalled agent): the transfer cannot even notice its budget.
    const stalled = { listDir: () => new Promise<never>(() => undefined) } as unknown as Runtime;
    const quick = new S3Hooks({ logger: recordingLogger(), abandonGraceMs: 20 });
    const started = performance.now();
    const report = await quick.upload(stalled, 'sbx-stalled', sync('p'), connection, { budgetMs: 30 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(report.timedOut).toBe(true);
    expect(report.failures).toMatchObject([{ path: '/home/sandbox', code: 'TIMEOUT' }]);
    expect(report.failures[0]?.error).toMatch(/time budget of 30 ms/);
  }, 5000);

  it('logs every run without ever logging a key', () => {
    expect(lines.length).toBeGreaterThan(5);
    expect(
      lines.some((line) => line.level === 'warn' && line.message === 'S3 download finished with problems'),
    ).toBe(true);
    const text = JSON.stringify(lines);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(S3RVER_KEY);
  });
});

/** A connection answering from a fixed listing (for keys s3rver cannot store, such as `..`). */
function listingConnection(keys: string[]): S3Connection {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  client.send = (async (command: unknown) => {
    if (command instanceof ListObjectsV2Command)
      return { Contents: keys.map((Key) => ({ Key, Size: Key.length })), IsTruncated: false };
    if (command instanceof GetObjectCommand)
      return {
        Body: Readable.from([Buffer.from(command.input.Key ?? '')]),
        ContentLength: (command.input.Key ?? '').length,
      };
    throw new Error('unexpected command');
  }) as typeof client.send;
  return {
    client,
    bucket: 'stub',
    prefix: '',
    endpointLabel: 'stub:443',
    pinned: undefined,
    error: (error, context = {}) => fromS3Error(error, { ...context, endpoint: 'stub:443' }),
    destroy: () => client.destroy(),
  };
}

describe('S3Hooks path safety', () => {
  it('skips and reports keys that would escape sync_path', async () => {
    const stubRuntime = new FakeRuntime();
    await stubRuntime.create('sbx', { image: 'test', writableRootfs: true });
    await stubRuntime.start('sbx');
    const keys = [
      'data/ok.txt',
      'data/../escape.txt',
      'data/a/../../../etc/evil',
      'data//etc/passwd',
      'data/dir/',
      'data/nested/fine.txt',
    ];
    const report = await hooks.download(
      stubRuntime,
      'sbx',
      { bucket: 'stub', prefix: 'data', mode: 'hooks' },
      listingConnection(keys),
    );
    expect(report.objects).toBe(2);
    expect(report.failures).toEqual([]);
    expect(report.skipped.map((skip) => skip.key).sort()).toEqual([
      'data/../escape.txt',
      'data//etc/passwd',
      'data/a/../../../etc/evil',
    ]);
    expect(report.skipped.every((skip) => /escape/.test(skip.reason))).toBe(true);
    expect((await stubRuntime.stat('sbx', '/home/sandbox/dir')).isDir).toBe(true);
    const all = (await stubRuntime.listDir('sbx', '/')).entries.map((info) => info.name);
    expect(all).not.toContain('escape.txt');
    await expect(stubRuntime.stat('sbx', '/etc/evil')).rejects.toThrow();
    await expect(stubRuntime.stat('sbx', '/etc/passwd')).rejects.toThrow();
    await expect(stubRuntime.stat('sbx', '/home/escape.txt')).rejects.toThrow();
  });

  it('skips symbolic links and special files on upload', async () => {
    const fake = new FakeRuntime();
    await fake.create('sbx', { image: 'test' });
    await fake.start('sbx');
    await fake.writeFile('sbx', '/home/sandbox/real.txt', 'real');
    const extra = (path: string, mode: string, isSymlink: boolean): FileInfo => ({
      name: path.split('/').pop() ?? '',
      path,
      size: 0,
      mode,
      modTime: new Date(),
      isDir: false,
      isSymlink,
    });
    const withLinks = new Proxy(fake, {
      get(target, property, receiver) {
        if (property === 'listDir') {
          return async (id: string, path: string) => {
            const listing = await target.listDir(id, path);
            return path === '/home/sandbox'
              ? {
                  truncated: false,
                  entries: [
                    ...listing.entries,
                    extra('/home/sandbox/link', 'lrwxrwxrwx', true),
                    extra('/home/sandbox/fifo', 'prw-r--r--', false),
                  ],
                }
              : listing;
          };
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    }) as Runtime;
    const report = await hooks.upload(withLinks, 'sbx', sync('links'), connection);
    expect(report.objects).toBe(1);
    expect(report.skipped).toEqual([
      { path: '/home/sandbox/link', reason: 'symbolic link (not followed)' },
      { path: '/home/sandbox/fifo', reason: 'not a regular file (mode prw-r--r--)' },
    ]);
    expect([...(await listKeys('links/')).keys()]).toEqual(['links/real.txt']);
  });
});
