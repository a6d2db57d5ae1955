/**
 * On-demand S3 import and export of a 200 MB object through the HTTP API and the real Docker runtime, with the
 * server's memory staying flat: the bytes stream S3 → server → agent socket → sandbox file (and back) and are never
 * held whole. In its own file (its own worker process), so that no other test's garbage sits in the RSS figures;
 * s3rver runs in a child process, so only the server side is measured.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../api/app.js';
import { silentLogger } from '../logger.js';
import type { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import { createS3Client, type S3Connection } from '../storage/s3/client.js';
import { resolveS3, type S3ServerConfig } from '../storage/s3/credentials.js';
import { SsrfPolicy } from '../storage/s3/ssrf.js';
import {
  S3RVER_KEY,
  S3RVER_SECRET,
  startS3rver,
  type TestS3Server,
} from '../storage/s3/test-support/s3rver.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { BUSYBOX_IMAGE, testDockerRuntime } from '../test-support/docker-runtime.js';
import { testPolicy } from '../test-support/policy.js';
import { Engine } from './engine.js';
import { S3Sync } from './s3-sync.js';

const BUCKET = 'memory-bucket';
const SIZE = 200 * 1024 * 1024;
/** A third of the object: a transfer that buffered it (or a large part of it) could not stay under this. */
const MAX_GROWTH = 64 * 1024 * 1024;

let s3: TestS3Server;
let connection: S3Connection;
let runtime: DockerRuntime;
let cleanupRuntime: () => Promise<void>;
let store: SqliteStore;
let engine: Engine;
let app: FastifyInstance;
let url: string;
let workDir: string;
let sourceHash: string;

async function sha256(stream: AsyncIterable<unknown>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Runs `work` while sampling this process's RSS every 20 ms; growth = peak - RSS before. */
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

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  const server: S3ServerConfig = {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKey: S3RVER_KEY,
    secretKey: S3RVER_SECRET,
    allowInternalEndpoint: true,
  };
  const policy = new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: s3.endpoint });
  connection = await createS3Client(resolveS3({ bucket: BUCKET }, server), policy);
  ({ runtime, cleanup: cleanupRuntime } = await testDockerRuntime('socket'));
  store = new SqliteStore(':memory:');
  engine = new Engine({
    runtime,
    store,
    maxSandboxes: 5,
    logger: silentLogger,
    policy: testPolicy({ defaultImage: BUSYBOX_IMAGE, defaultNetworkMode: 'none' }),
    s3: new S3Sync({ runtime, store, server, policy, logger: silentLogger, allowS3: true }),
  });
  app = await buildApp({
    engine,
    logger: false,
    auth: { enabled: false, apiKeys: [] },
    allowedOrigins: [],
    rateLimit: { rps: 1000, burst: 1000 },
    trustProxy: false,
    version: { version: 'test', commit: 'test', buildDate: 'test' },
    ping: () => runtime.ping(),
    resources: () => Promise.reject(new Error('not used')),
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });

  workDir = await mkdtemp(join(tmpdir(), 'burrow-s3-mem-'));
  const source = join(workDir, 'source.bin');
  // Made by dd, not by this process, so the baseline holds no freed buffers a transfer could reuse.
  execFileSync('dd', ['if=/dev/urandom', `of=${source}`, 'bs=1M', `count=${SIZE / 1024 / 1024}`], {
    stdio: 'ignore',
  });
  sourceHash = await sha256(createReadStream(source));
  await connection.client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'big/source.bin',
      Body: createReadStream(source),
      ContentLength: statSync(source).size,
    }),
  );
  await connection.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'warm/up.txt', Body: 'warm-up' }));
}, 300_000);

afterAll(async () => {
  await app?.close();
  for (const info of (await runtime?.list()) ?? []) await runtime.remove(info.id);
  store?.close();
  connection?.destroy();
  await cleanupRuntime?.();
  await s3?.stop();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
});

describe('200 MB through s3-import and s3-export', () => {
  it('streams both ways with the server memory flat', async () => {
    const sandbox = await engine.create({});
    // Warm up every code path once, so lazily loaded modules and first-use pools are not counted as growth.
    expect(
      (
        await post(`/api/v1/sandboxes/${sandbox.id}/files/s3-import`, {
          bucket: BUCKET,
          key: 'warm/up.txt',
          dest_path: '/tmp/w',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await post(`/api/v1/sandboxes/${sandbox.id}/files/s3-export`, {
          bucket: BUCKET,
          key: 'warm/back.txt',
          source_path: '/tmp/w',
        })
      ).status,
    ).toBe(200);

    const imported = await sampleRss(() =>
      post(`/api/v1/sandboxes/${sandbox.id}/files/s3-import`, {
        bucket: BUCKET,
        key: 'big/source.bin',
        dest_path: '/tmp/blob.bin',
      }),
    );
    console.log(`s3-import of 200 MiB: ${Math.round(imported.ms)} ms, RSS growth ${mib(imported.growth)}`);
    expect(imported.result).toEqual({
      status: 200,
      json: { success: true, bytes_downloaded: SIZE, path: '/tmp/blob.bin' },
    });
    const inside = await engine.exec(sandbox.id, { cmd: ['sha256sum', '/tmp/blob.bin'] });
    expect(inside.stdout.toString('utf8').split(' ')[0]).toBe(sourceHash);

    const exported = await sampleRss(() =>
      post(`/api/v1/sandboxes/${sandbox.id}/files/s3-export`, {
        source_path: '/tmp/blob.bin',
        bucket: BUCKET,
        key: 'big/back.bin',
      }),
    );
    console.log(`s3-export of 200 MiB: ${Math.round(exported.ms)} ms, RSS growth ${mib(exported.growth)}`);
    expect(exported.result).toEqual({
      status: 200,
      json: { success: true, bytes_uploaded: SIZE, s3_key: 'big/back.bin' },
    });

    expect(imported.growth).toBeLessThan(MAX_GROWTH);
    expect(exported.growth).toBeLessThan(MAX_GROWTH);
    const back = await connection.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'big/back.bin' }));
    expect(await sha256(back.Body as Readable)).toBe(sourceHash);
    await engine.destroy(sandbox.id);
  }, 300_000);
});
