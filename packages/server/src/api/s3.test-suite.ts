/**
 * S3 through the API, on the fake (s3.test.ts) and on Docker (s3.docker.test.ts), with a real S3-compatible server (s3rver on loopback, with the
 * internal-endpoint exemption configured for it): hooks round trips, on-demand import/export of objects and
 * prefixes, and the 4xx answers for bad requests, refused keys, missing buckets and disabled modes.
 */
import { GetObjectCommand, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import { S3Sync } from '../engine/s3-sync.js';
import { createS3Client, type S3Connection } from '../storage/s3/client.js';
import { resolveS3, type S3ServerConfig } from '../storage/s3/credentials.js';
import { SsrfPolicy } from '../storage/s3/ssrf.js';
import { S3RVER_KEY, startS3rver, type TestS3Server } from '../storage/s3/test-support/s3rver.js';
import { startApi, type Harness, type HarnessOptions, type RuntimeKind } from './test-support/harness.js';

const BUCKET = 'api-bucket';
/** s3rver checks the key id, not the signature: this secret is accepted, and must never show up anywhere. */
const SECRET = 'api-secret-that-must-never-leak';
const MAX_TRANSFER = 64 * 1024;

class ManualClock {
  constructor(private time = Date.parse('2026-05-01T00:00:00Z')) {}
  now(): Date {
    return new Date(this.time);
  }
  advance(ms: number): void {
    this.time += ms;
  }
}

export function s3RoutesSuite(kind: RuntimeKind): void {
  let s3: TestS3Server;
  let server: S3ServerConfig;
  let connection: S3Connection;
  const logLines: unknown[] = [];
  const harnesses: Harness[] = [];

  function recordingLogger(): Logger {
    const log = (level: string) => (details: object, message?: string) =>
      void logLines.push({ level, details, message });
    const logger: Logger = {
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
      child: () => logger,
    };
    return logger;
  }

  async function api(options: HarnessOptions & { allowS3?: boolean } = {}): Promise<Harness> {
    const { allowS3 = true, ...rest } = options;
    const harness = await startApi({
      runtime: kind,
      ...rest,
      policy: { allowS3, ...rest.policy },
      s3: ({ runtime, store }) =>
        new S3Sync({
          runtime,
          store,
          server,
          policy: new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: server.endpoint }),
          logger: recordingLogger(),
          allowS3,
          maxTransferBytes: MAX_TRANSFER,
        }),
    });
    harnesses.push(harness);
    return harness;
  }

  async function put(key: string, body: string | Buffer): Promise<void> {
    await connection.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  }

  async function get(key: string): Promise<string> {
    const object = await connection.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return (await object.Body?.transformToString()) ?? '';
  }

  async function keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client: connection.client },
      { Bucket: BUCKET, Prefix: prefix },
    )) {
      for (const object of page.Contents ?? []) found.push(object.Key ?? '');
    }
    return found.sort();
  }

  function json(body: unknown): RequestInit {
    return { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
  }

  async function readFile(harness: Harness, id: string, path: string): Promise<string> {
    const response = await harness.call(`/api/v1/sandboxes/${id}/files?path=${encodeURIComponent(path)}`);
    expect(response.status).toBe(200);
    return response.text();
  }

  async function writeFile(harness: Harness, id: string, path: string, body: string): Promise<void> {
    const response = await harness.call(`/api/v1/sandboxes/${id}/files?path=${encodeURIComponent(path)}`, {
      method: 'PUT',
      body,
    });
    expect(response.status).toBe(200);
  }

  interface WireReport {
    direction: string;
    objects: number;
    bytes: number;
    failure_count: number;
    skipped_count: number;
    failures: Array<{ key?: string; code: string }>;
    skipped: Array<{ key?: string; reason: string }>;
    sync_path: string;
    timed_out: boolean;
  }

  async function createHooks(harness: Harness, s3Config: Record<string, unknown>) {
    const response = await harness.call(
      '/api/v1/sandboxes',
      json({ storage: { s3: { bucket: BUCKET, mode: 'hooks', ...s3Config } } }),
    );
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown> & { id: string; s3_sync?: WireReport[] },
    };
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
    connection = await createS3Client(
      resolveS3({ bucket: BUCKET }, server),
      new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: s3.endpoint }),
    );
  });

  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
  });

  afterAll(async () => {
    connection.destroy();
    await s3.stop();
  });

  describe('hooks mode', () => {
    it('downloads the prefix after create and uploads sync_path before DELETE, with reports on the sandbox', async () => {
      const harness = await api();
      const expected = new Map<string, string>();
      for (let i = 0; i < 300; i += 1) {
        const relative = `d${i % 4}/sub${i % 3}/file-${i}.txt`;
        expected.set(relative, `object ${i}`);
      }
      await Promise.all([...expected].map(([relative, body]) => put(`proj/${relative}`, body)));
      await put('proj/empty-dir/', '');

      const created = await createHooks(harness, { prefix: 'proj/' });
      expect(created.status).toBe(201);
      const id = created.body.id;
      expect(created.body.s3_sync).toHaveLength(1);
      expect(created.body.s3_sync?.[0]).toMatchObject({
        direction: 'download',
        objects: 300,
        failure_count: 0,
        skipped_count: 0,
        sync_path: '/home/sandbox',
        timed_out: false,
      });
      expect(await readFile(harness, id, '/home/sandbox/d1/sub1/file-1.txt')).toBe('object 1');
      expect(await readFile(harness, id, '/home/sandbox/d3/sub2/file-299.txt')).toBe('object 299');

      const detail = (await (await harness.call(`/api/v1/sandboxes/${id}`)).json()) as {
        s3_sync: WireReport[];
      };
      expect(detail.s3_sync.map((report) => report.direction)).toEqual(['download']);
      const listed = (await (await harness.call('/api/v1/sandboxes')).json()) as Array<
        Record<string, unknown>
      >;
      expect(listed[0]?.s3_sync).toBeUndefined(); // lists stay lean: reports are on create, get and /s3-syncs

      await writeFile(harness, id, '/home/sandbox/new/deep/result.txt', 'made in the sandbox');
      await writeFile(harness, id, '/home/sandbox/d1/sub1/file-1.txt', 'changed');
      expect((await harness.call(`/api/v1/sandboxes/${id}`, { method: 'DELETE' })).status).toBe(204);

      expect(await get('proj/new/deep/result.txt')).toBe('made in the sandbox');
      expect(await get('proj/d1/sub1/file-1.txt')).toBe('changed');
      const stored = await keys('proj/');
      expect(stored.filter((key) => key.includes('//'))).toEqual([]);
      expect(stored).toHaveLength(302); // 300 + the marker of empty-dir/ + new/deep/result.txt

      // The upload ran as the sandbox went away: its report is still there.
      const syncs = (await (await harness.call(`/api/v1/sandboxes/${id}/s3-syncs`)).json()) as WireReport[];
      expect(syncs.map((report) => [report.direction, report.objects, report.failure_count])).toEqual([
        ['download', 300, 0],
        ['upload', 301, 0],
      ]);
      expect((await harness.call(`/api/v1/sandboxes/${id}`)).status).toBe(404);
      expect((await harness.call('/api/v1/sandboxes/nope/s3-syncs')).status).toBe(404);
    }, 60_000);

    it('uploads when the reaper destroys an expired sandbox', async () => {
      const clock = new ManualClock();
      const harness = await api({ clock });
      const created = await createHooks(harness, { prefix: 'reaped', sync_path: '/tmp/work' });
      expect(created.status).toBe(201);
      await writeFile(harness, created.body.id, '/tmp/work/a/b.txt', 'kept by the reaper');
      clock.advance(31 * 60_000);
      expect(await harness.engine.reapExpired()).toEqual([created.body.id]);
      expect(await get('reaped/a/b.txt')).toBe('kept by the reaper');
      expect(harness.engine.s3SyncReports(created.body.id).map((report) => report.direction)).toEqual([
        'download',
        'upload',
      ]);
    });

    it('refuses a create whose bucket is missing or whose keys are refused, leaving nothing behind', async () => {
      const harness = await api();
      const missing = await createHooks(harness, { bucket: 'no-such-bucket' });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({
        code: 'S3_NOT_FOUND',
        error: expect.stringMatching(/no-such-bucket does not exist/) as string,
      });
      const denied = await createHooks(harness, { access_key: 'WRONG-KEY-ID' });
      expect(denied.status).toBe(403);
      expect(denied.body.code).toBe('S3_ACCESS_DENIED');
      expect(JSON.stringify(denied.body)).not.toContain('WRONG-KEY-ID');
      expect(await harness.runtime.list()).toEqual([]);
      expect(harness.engine.list()).toEqual([]);
    });

    it('checks the sandbox endpoint against the SSRF policy and Gate B', async () => {
      const harness = await api();
      const metadata = await createHooks(harness, { endpoint: 'http://169.254.169.254' });
      expect(metadata.status).toBe(400);
      expect(metadata.body).toMatchObject({
        code: expect.stringMatching(/SSRF_BLOCKED|POLICY_VIOLATION/) as string,
      });
      const other = await createHooks(harness, { endpoint: 'http://127.0.0.2:9' });
      expect(other.status).toBe(400);
      expect(await harness.runtime.list()).toEqual([]);
    });

    it('reports per-object problems without failing the create', async () => {
      const harness = await api();
      await put('big/small.txt', 'small');
      await put('big/large.bin', Buffer.alloc(MAX_TRANSFER + 1, 1));
      const created = await createHooks(harness, { prefix: 'big' });
      expect(created.status).toBe(201);
      expect(created.body.s3_sync?.[0]).toMatchObject({
        objects: 1,
        skipped_count: 1,
        skipped: [{ key: 'big/large.bin' }],
      });
    });
  });

  describe('on-demand import and export', () => {
    it("moves one object each way with Den's shapes", async () => {
      const harness = await api();
      const id = await harness.sandbox();
      await put('single/in.txt', 'hello from s3');
      const imported = await harness.call(
        `/api/v1/sandboxes/${id}/files/s3-import`,
        json({ bucket: BUCKET, key: 'single/in.txt', dest_path: '/tmp/in/x.txt' }),
      );
      expect(imported.status).toBe(200);
      expect(await imported.json()).toEqual({ success: true, bytes_downloaded: 13, path: '/tmp/in/x.txt' });
      expect(await readFile(harness, id, '/tmp/in/x.txt')).toBe('hello from s3');

      await writeFile(harness, id, '/tmp/out.txt', 'back to s3');
      const exported = await harness.call(
        `/api/v1/sandboxes/${id}/files/s3-export`,
        json({ source_path: '/tmp/out.txt', bucket: BUCKET, key: 'single/out.txt' }),
      );
      expect(exported.status).toBe(200);
      expect(await exported.json()).toEqual({ success: true, bytes_uploaded: 10, s3_key: 'single/out.txt' });
      expect(await get('single/out.txt')).toBe('back to s3');
    });

    it('imports a prefix into a directory and exports a directory to a prefix (Burrow extension)', async () => {
      const harness = await api();
      const id = await harness.sandbox();
      await Promise.all(
        ['a.txt', 'b/c.txt', 'b/d/e.txt'].map((name) => put(`tree/${name}`, `content of ${name}`)),
      );
      const imported = await harness.call(
        `/api/v1/sandboxes/${id}/files/s3-import`,
        json({ bucket: BUCKET, prefix: 'tree', dest_path: '/tmp/tree' }),
      );
      expect(await imported.json()).toEqual({
        success: true,
        bytes_downloaded: 54,
        path: '/tmp/tree',
        objects: 3,
        skipped: [],
      });
      expect(await readFile(harness, id, '/tmp/tree/b/d/e.txt')).toBe('content of b/d/e.txt');
      const byKey = await harness.call(
        `/api/v1/sandboxes/${id}/files/s3-import`,
        json({ bucket: BUCKET, key: 'tree/b/', dest_path: '/tmp/b-only' }),
      );
      expect(await byKey.json()).toMatchObject({ objects: 2 });

      const exported = await harness.call(
        `/api/v1/sandboxes/${id}/files/s3-export`,
        json({ source_path: '/tmp/tree', bucket: BUCKET, key: 'tree-copy/' }),
      );
      expect(await exported.json()).toEqual({
        success: true,
        bytes_uploaded: 54,
        s3_key: 'tree-copy/',
        objects: 3,
        skipped: [],
      });
      expect(await keys('tree-copy/')).toEqual([
        'tree-copy/a.txt',
        'tree-copy/b/c.txt',
        'tree-copy/b/d/e.txt',
      ]);
    });

    it('answers bad requests, refused keys and missing buckets with clear 4xx errors', async () => {
      const harness = await api();
      const id = await harness.sandbox();
      const importing = (body: unknown) =>
        harness.call(`/api/v1/sandboxes/${id}/files/s3-import`, json(body));
      const exporting = (body: unknown) =>
        harness.call(`/api/v1/sandboxes/${id}/files/s3-export`, json(body));
      const answer = async (response: Promise<Response>) => {
        const settled = await response;
        return { status: settled.status, ...((await settled.json()) as { error: string; code: string }) };
      };

      expect(await answer(importing({ bucket: BUCKET }))).toMatchObject({
        status: 400,
        error: 'bucket, key, and dest_path are required',
      });
      expect(await answer(exporting({ key: 'k' }))).toMatchObject({
        status: 400,
        error: 'source_path, bucket, and key are required',
      });
      expect(
        await answer(harness.call(`/api/v1/sandboxes/${id}/files/s3-import`, { method: 'POST' })),
      ).toMatchObject({ status: 400 });
      expect(await answer(importing({ bucket: BUCKET, key: 'k', dest_path: 'relative' }))).toMatchObject({
        status: 400,
        error: expect.stringMatching(/^invalid dest_path: /) as string,
      });
      expect(
        await answer(
          importing({ bucket: BUCKET, key: 'k', dest_path: '/tmp/x', endpoint: 'http://169.254.169.254' }),
        ),
      ).toMatchObject({
        status: 400,
        code: 'SSRF_BLOCKED',
      });
      expect(
        await answer(
          importing({ bucket: BUCKET, key: 'k', dest_path: '/tmp/x', endpoint: 'http://10.1.2.3:9000' }),
        ),
      ).toMatchObject({
        status: 400,
      });

      await put('exists.txt', 'x');
      const denied = await answer(
        importing({ bucket: BUCKET, key: 'exists.txt', dest_path: '/tmp/x', access_key: 'NOT-A-KEY' }),
      );
      expect(denied).toMatchObject({ status: 403, code: 'S3_ACCESS_DENIED' });
      expect(denied.error).toMatch(/check access_key and secret_key/);
      expect(JSON.stringify(denied)).not.toContain('NOT-A-KEY');

      expect(
        await answer(importing({ bucket: 'no-such-bucket', key: 'k', dest_path: '/tmp/x' })),
      ).toMatchObject({
        status: 404,
        code: 'S3_NOT_FOUND',
        error: expect.stringMatching(/no-such-bucket does not exist/) as string,
      });
      expect(
        await answer(importing({ bucket: BUCKET, key: 'missing-key', dest_path: '/tmp/x' })),
      ).toMatchObject({ status: 404, code: 'S3_NOT_FOUND' });
      await writeFile(harness, id, '/tmp/up.txt', 'up');
      expect(
        await answer(exporting({ source_path: '/tmp/up.txt', bucket: 'no-such-bucket', key: 'k' })),
      ).toMatchObject({
        status: 404,
        code: 'S3_NOT_FOUND',
      });
      expect(
        await answer(exporting({ source_path: '/tmp/not-there', bucket: BUCKET, key: 'k' })),
      ).toMatchObject({
        status: 404,
        code: 'FILE_NOT_FOUND',
      });

      await put('too-big.bin', Buffer.alloc(MAX_TRANSFER + 1, 2));
      expect(
        await answer(importing({ bucket: BUCKET, key: 'too-big.bin', dest_path: '/tmp/big' })),
      ).toMatchObject({
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      });
      await writeFile(harness, id, '/tmp/big-out', 'y'.repeat(MAX_TRANSFER + 1));
      expect(
        await answer(exporting({ source_path: '/tmp/big-out', bucket: BUCKET, key: 'big-out' })),
      ).toMatchObject({
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      });

      expect(
        await answer(
          harness.call(
            '/api/v1/sandboxes/unknown/files/s3-import',
            json({ bucket: BUCKET, key: 'exists.txt', dest_path: '/tmp/x' }),
          ),
        ),
      ).toMatchObject({
        status: 404,
        code: 'SANDBOX_NOT_FOUND',
      });
      await harness.call(`/api/v1/sandboxes/${id}/stop`, { method: 'POST' });
      expect(
        await answer(importing({ bucket: BUCKET, key: 'exists.txt', dest_path: '/tmp/x' })),
      ).toMatchObject({
        status: 409,
        code: 'SANDBOX_NOT_RUNNING',
      });
    });

    it('refuses transfers when S3 is disabled on the server', async () => {
      const harness = await api({ allowS3: false });
      const id = await harness.sandbox();
      const response = await harness.call(
        `/api/v1/sandboxes/${id}/files/s3-import`,
        json({ bucket: BUCKET, key: 'k', dest_path: '/tmp/x' }),
      );
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        code: 'POLICY_VIOLATION',
        error: expect.stringMatching(/sandbox\.allow_s3/) as string,
      });
    });
  });

  describe('fuse mode', () => {
    it('is refused with a clear 400 unless sandbox.allow_s3_fuse is on', async () => {
      const harness = await api();
      const response = await harness.call(
        '/api/v1/sandboxes',
        json({ storage: { s3: { bucket: BUCKET, mode: 'fuse', mount_path: '/mnt/s3' } } }),
      );
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        code: 'POLICY_VIOLATION',
        error: 'storage.s3: mode "fuse" is disabled on this server (sandbox.allow_s3_fuse)',
      });
      expect(await harness.runtime.list()).toEqual([]);
    });

    it('is refused when the server cannot mount (not root) even if the policy allows it', async () => {
      const harness = await api({ policy: { allowS3Fuse: true } });
      const response = await harness.call(
        '/api/v1/sandboxes',
        json({ storage: { s3: { bucket: BUCKET, mode: 'fuse', mount_path: '/mnt/s3' } } }),
      );
      expect(response.status).toBe(501);
      expect(await response.json()).toMatchObject({
        code: 'NOT_SUPPORTED',
        error: expect.stringMatching(/run as root/) as string,
      });
      expect(await harness.runtime.list()).toEqual([]);
      expect(harness.engine.list()).toEqual([]);
    });
  });

  describe('secrets', () => {
    it('never appear in logs', () => {
      expect(logLines.length).toBeGreaterThan(3);
      const text = JSON.stringify(logLines);
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('WRONG-KEY-ID');
    });
  });
}
