/**
 * Every place the API accepts an S3 bucket refuses a name that breaks S3's rules with a 400 naming it, before
 * anything touches S3, the network or s3fs (the configured endpoint here answers nothing).
 * On the fake (s3-bucket-names.test.ts) and on Docker (s3-bucket-names.docker.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { S3Sync } from '../engine/s3-sync.js';
import { SsrfPolicy } from '../storage/s3/ssrf.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

const BAD = '-obucket=etc,use_cache=/';
const server = {
  endpoint: 'http://127.0.0.1:1',
  region: 'us-east-1',
  accessKey: 'key',
  secretKey: 'secret',
  allowInternalEndpoint: true,
};

export function s3BucketNamesSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({
      runtime: kind,
      policy: { allowS3: true, allowS3Fuse: true },
      s3: ({ runtime, store }) =>
        new S3Sync({
          runtime,
          store,
          server,
          policy: new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: server.endpoint }),
          logger: silentLogger,
          allowS3: true,
        }),
    });
  });
  afterAll(() => api.close());

  const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

  async function refused(response: Response, field: string): Promise<void> {
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; code: string; bucket?: string; field?: string };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.error).toContain(`${JSON.stringify(BAD)} is not a valid S3 bucket name`);
    expect(body.bucket).toBe(BAD);
    expect(body.field).toBe(field);
  }

  describe('S3 bucket names at the edge', () => {
    it.each(['fuse', 'hooks', 'on_demand'])('create with storage.s3 mode %s', async (mode) => {
      const before = api.engine.list().length;
      const response = await api.call(
        '/api/v1/sandboxes',
        json({ storage: { s3: { bucket: BAD, mode, mount_path: '/mnt/s3' } } }),
      );
      await refused(response, 'storage.s3.bucket');
      expect(api.engine.list()).toHaveLength(before);
    });

    it('s3-import and s3-export', async () => {
      const id = await api.sandbox();
      await refused(
        await api.call(
          `/api/v1/sandboxes/${id}/files/s3-import`,
          json({ bucket: BAD, key: 'k', dest_path: '/tmp/k' }),
        ),
        'bucket',
      );
      await refused(
        await api.call(
          `/api/v1/sandboxes/${id}/files/s3-export`,
          json({ bucket: BAD, key: 'k', source_path: '/tmp/k' }),
        ),
        'bucket',
      );
    });
  });
}
