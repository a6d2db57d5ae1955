import { createServer, type Server } from 'node:net';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import { createS3Client, fromS3Error, withS3Client } from './client.js';
import { resolveS3, type S3ServerConfig } from './credentials.js';
import { SsrfPolicy } from './ssrf.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3rver, type TestS3Server } from './test-support/s3rver.js';

let s3: TestS3Server;
let server: S3ServerConfig;
let policy: SsrfPolicy;

beforeAll(async () => {
  s3 = await startS3rver(['client-bucket']);
  server = {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKey: S3RVER_KEY,
    secretKey: S3RVER_SECRET,
    allowInternalEndpoint: true,
  };
  policy = new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: s3.endpoint });
});

afterAll(async () => {
  await s3.stop();
});

async function failure(promise: Promise<unknown>): Promise<BurrowError> {
  try {
    await promise;
  } catch (error) {
    if (isBurrowError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('createS3Client against s3rver', () => {
  it('puts, lists and gets objects with path-style addressing through the pinned agent', async () => {
    await withS3Client(resolveS3({ bucket: 'client-bucket' }, server), policy, async (connection) => {
      expect(connection.pinned?.pinned).toBe('127.0.0.1');
      await connection.client.send(
        new PutObjectCommand({ Bucket: 'client-bucket', Key: 'dir/hello.txt', Body: 'hello' }),
      );
      const listed = await connection.client.send(
        new ListObjectsV2Command({ Bucket: 'client-bucket', Prefix: 'dir/' }),
      );
      expect(listed.Contents?.map((object) => object.Key)).toEqual(['dir/hello.txt']);
      const got = await connection.client.send(
        new GetObjectCommand({ Bucket: 'client-bucket', Key: 'dir/hello.txt' }),
      );
      expect(await got.Body?.transformToString()).toBe('hello');
    });
  });

  it('wrong credentials → S3_ACCESS_DENIED without the keys in the message', async () => {
    const resolved = resolveS3(
      { bucket: 'client-bucket', accessKey: 'WRONGKEY1234', secretKey: 'super-secret-value' },
      server,
    );
    await withS3Client(resolved, policy, async (connection) => {
      const raw = await connection.client
        .send(new GetObjectCommand({ Bucket: 'client-bucket', Key: 'dir/hello.txt' }))
        .catch((error: unknown) => error);
      const error = connection.error(raw, { bucket: 'client-bucket', key: 'dir/hello.txt' });
      expect(error.code).toBe('S3_ACCESS_DENIED');
      expect(error.status).toBe(403);
      expect(error.message).toMatch(/check access_key and secret_key/);
      expect(error.message).not.toMatch(/WRONGKEY1234|super-secret-value/);
    });
  });

  it('a missing bucket or key → S3_NOT_FOUND', async () => {
    await withS3Client(resolveS3({ bucket: 'no-such-bucket' }, server), policy, async (connection) => {
      const raw = await connection.client
        .send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' }))
        .catch((error: unknown) => error);
      const error = connection.error(raw, { bucket: 'no-such-bucket' });
      expect(error.code).toBe('S3_NOT_FOUND');
      expect(error.message).toMatch(/^bucket no-such-bucket does not exist/);
    });
    await withS3Client(resolveS3({ bucket: 'client-bucket' }, server), policy, async (connection) => {
      const raw = await connection.client
        .send(new GetObjectCommand({ Bucket: 'client-bucket', Key: 'missing' }))
        .catch((error: unknown) => error);
      expect(connection.error(raw, { bucket: 'client-bucket', key: 'missing' })).toMatchObject({
        code: 'S3_NOT_FOUND',
        message: 's3://client-bucket/missing does not exist: check the bucket and key',
      });
    });
  });

  it('an unreachable endpoint → S3_ERROR naming the host', async () => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const endpoint = `http://127.0.0.1:${port}`;
    const deadPolicy = new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: endpoint });
    const resolved = resolveS3({ bucket: 'bkt' }, { ...server, endpoint });
    await withS3Client(
      resolved,
      deadPolicy,
      async (connection) => {
        const raw = await connection.client
          .send(new ListObjectsV2Command({ Bucket: 'bkt' }))
          .catch((error: unknown) => error);
        const error = connection.error(raw, { bucket: 'bkt' });
        expect(error.code).toBe('S3_ERROR');
        expect(error.status).toBe(502);
        expect(error.message).toContain(`127.0.0.1:${port}`);
        expect(error.message).toMatch(/ECONNREFUSED/);
      },
      { maxAttempts: 1 },
    );
  });

  it('loopback without the exemption is refused when the client is built; metadata even with it', async () => {
    const closedPolicy = new SsrfPolicy({ allowInternalEndpoint: false });
    const resolved = resolveS3(
      { bucket: 'client-bucket', endpoint: s3.endpoint },
      { ...server, endpoint: '', allowInternalEndpoint: false },
    );
    expect((await failure(createS3Client(resolved, closedPolicy))).code).toBe('SSRF_BLOCKED');
    const metadata = resolveS3({ bucket: 'bkt' }, { ...server, endpoint: 'http://169.254.169.254' });
    const metaPolicy = new SsrfPolicy({
      allowInternalEndpoint: true,
      serverEndpoint: 'http://169.254.169.254',
    });
    expect((await failure(createS3Client(metadata, metaPolicy))).message).toMatch(/never allowed/);
  });
});

describe('fromS3Error', () => {
  const context = {
    endpoint: 's3.example.com:443',
    bucket: 'bkt',
    key: 'k',
    secrets: ['AKIAEXAMPLEKEY', 'SECRETSECRET'],
  };

  it.each([
    [{ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, 'S3_ACCESS_DENIED'],
    [{ name: 'InvalidAccessKeyId', $metadata: { httpStatusCode: 403 } }, 'S3_ACCESS_DENIED'],
    [{ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } }, 'S3_ACCESS_DENIED'],
    [{ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, 'S3_NOT_FOUND'],
    [{ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }, 'S3_NOT_FOUND'],
    [{ name: 'NotFound', $metadata: { httpStatusCode: 404 } }, 'S3_NOT_FOUND'],
    [{ name: 'Error', code: 'ECONNRESET' }, 'S3_ERROR'],
    [{ name: 'TimeoutError' }, 'S3_ERROR'],
    [{ name: 'AbortError' }, 'TIMEOUT'],
    [
      { name: 'InternalError', message: 'boom for AKIAEXAMPLEKEY', $metadata: { httpStatusCode: 500 } },
      'S3_ERROR',
    ],
  ])('%o → %s', (raw, code) => {
    const error = fromS3Error(raw, context);
    expect(error.code).toBe(code);
    expect(error.message).not.toMatch(/AKIAEXAMPLEKEY|SECRETSECRET/);
  });

  it('names the bucket for NoSuchBucket and passes BurrowErrors through', () => {
    expect(fromS3Error({ name: 'NoSuchBucket' }, context).message).toBe(
      'bucket bkt does not exist at s3.example.com:443: create it or check the bucket name',
    );
    const own = new BurrowError('PAYLOAD_TOO_LARGE', 'too big');
    expect(fromS3Error(own, context)).toBe(own);
  });
});
