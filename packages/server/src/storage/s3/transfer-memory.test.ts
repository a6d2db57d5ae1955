/**
 * The memory check for single-object transfers, in its own file (its own worker process) so that no other test's
 * freed buffers sit in the RSS baseline and hide growth.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, type S3Connection } from './client.js';
import { resolveS3 } from './credentials.js';
import { SsrfPolicy } from './ssrf.js';
import { diskRuntime } from './test-support/disk-runtime.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3rver, type TestS3Server } from './test-support/s3rver.js';
import { exportObject, importObject } from './transfer.js';

const BUCKET = 'memory-bucket';
let s3: TestS3Server;
let connection: S3Connection;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  const server = {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKey: S3RVER_KEY,
    secretKey: S3RVER_SECRET,
    allowInternalEndpoint: true,
  };
  connection = await createS3Client(
    resolveS3({ bucket: BUCKET }, server),
    new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: s3.endpoint }),
  );
});

afterAll(async () => {
  connection.destroy();
  await s3.stop();
});

describe('200 MB through a disk-backed runtime', () => {
  const SIZE = 200 * 1024 * 1024;
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'burrow-s3-mem-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function sampleRss<T>(work: () => Promise<T>): Promise<{ result: T; growth: number; ms: number }> {
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    try {
      const result = await work();
      peak = Math.max(peak, process.memoryUsage().rss);
      return { result, growth: peak - baseline, ms: performance.now() - started };
    } finally {
      clearInterval(timer);
    }
  }

  async function hashFile(path: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  it('exports and imports 200 MB with flat memory', async () => {
    const disk = diskRuntime(root);
    // Made by dd, not by this process, so the baseline is not inflated by freed buffers that a copy could reuse.
    execFileSync(
      'dd',
      ['if=/dev/urandom', `of=${join(root, 'source.bin')}`, 'bs=1M', `count=${SIZE / 1024 / 1024}`],
      { stdio: 'ignore' },
    );
    // Warm up with a small round trip so lazily loaded SDK code is not counted as transfer memory.
    execFileSync('dd', ['if=/dev/urandom', `of=${join(root, 'warm.bin')}`, 'bs=64k', 'count=1'], {
      stdio: 'ignore',
    });
    await exportObject(
      disk,
      'disk',
      { sourcePath: '/warm.bin', bucket: BUCKET, key: 'warm.bin' },
      connection,
    );
    await importObject(
      disk,
      'disk',
      { bucket: BUCKET, key: 'warm.bin', destPath: '/warm-copy.bin' },
      connection,
    );

    const exported = await sampleRss(() =>
      exportObject(
        disk,
        'disk',
        { sourcePath: '/source.bin', bucket: BUCKET, key: 'big/200mb.bin' },
        connection,
      ),
    );
    expect(exported.result.bytes).toBe(SIZE);
    const imported = await sampleRss(() =>
      importObject(
        disk,
        'disk',
        { bucket: BUCKET, key: 'big/200mb.bin', destPath: '/copy/200mb.bin' },
        connection,
      ),
    );
    expect(imported.result.bytes).toBe(SIZE);
    expect(await hashFile(join(root, 'copy/200mb.bin'))).toBe(await hashFile(join(root, 'source.bin')));

    const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
    console.log(
      `200 MB export: ${Math.round(exported.ms)} ms, RSS growth ${mb(exported.growth)} MB; ` +
        `import: ${Math.round(imported.ms)} ms, RSS growth ${mb(imported.growth)} MB`,
    );
    expect(exported.growth).toBeLessThan(60 * 1024 * 1024);
    expect(imported.growth).toBeLessThan(60 * 1024 * 1024);
  }, 180_000);
});
