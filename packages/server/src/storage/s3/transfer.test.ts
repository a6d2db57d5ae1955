import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BurrowError } from '@burrow/protocol';
import { isBurrowError } from '@burrow/protocol';
import { FakeRuntime } from '../../runtime/fake/fake-runtime.js';
import { createS3Client, fromS3Error, type S3Connection } from './client.js';
import { resolveS3, type S3ServerConfig } from './credentials.js';
import { SsrfPolicy } from './ssrf.js';
import { S3RVER_KEY, S3RVER_SECRET, startS3rver, type TestS3Server } from './test-support/s3rver.js';
import { exportObject, importObject } from './transfer.js';

const BUCKET = 'transfer-bucket';
let s3: TestS3Server;
let server: S3ServerConfig;
let policy: SsrfPolicy;
let connection: S3Connection;
let runtime: FakeRuntime;
const ID = 'sbx-transfer';

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  server = {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKey: S3RVER_KEY,
    secretKey: S3RVER_SECRET,
    allowInternalEndpoint: true,
  };
  policy = new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: s3.endpoint });
  connection = await createS3Client(resolveS3({ bucket: BUCKET }, server), policy);
  runtime = new FakeRuntime();
  await runtime.create(ID, { image: 'test' });
  await runtime.start(ID);
});

afterAll(async () => {
  connection.destroy();
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

async function readAll(path: string): Promise<Buffer> {
  const file = await runtime.readFile(ID, path);
  const chunks: Buffer[] = [];
  for await (const chunk of file.body) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** A connection whose client answers GetObject from a table, for cases s3rver cannot produce. */
function stubConnection(objects: Record<string, { body: Buffer[]; contentLength?: number }>): S3Connection {
  const client = new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  });
  client.send = (async (command: unknown) => {
    if (command instanceof GetObjectCommand) {
      const object = objects[command.input.Key ?? ''];
      if (object === undefined)
        throw Object.assign(new Error('missing'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: Readable.from(object.body), ContentLength: object.contentLength };
    }
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

describe('importObject / exportObject', () => {
  it('round-trips a file: export to S3, import into another path', async () => {
    await runtime.writeFile(ID, '/home/sandbox/in/data.bin', randomBytes(300_000));
    const exported = await exportObject(
      runtime,
      ID,
      { sourcePath: '/home/sandbox/in/data.bin', bucket: BUCKET, key: 'one/data.bin' },
      connection,
    );
    expect(exported.bytes).toBe(300_000);
    const imported = await importObject(
      runtime,
      ID,
      { bucket: BUCKET, key: 'one/data.bin', destPath: '/tmp/out/deep/data.bin' },
      connection,
    );
    expect(imported.bytes).toBe(300_000);
    expect((await readAll('/tmp/out/deep/data.bin')).equals(await readAll('/home/sandbox/in/data.bin'))).toBe(
      true,
    );
  });

  it('refuses an object whose Content-Length exceeds maxBytes before writing anything', async () => {
    await connection.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'big.bin', Body: Buffer.alloc(2048) }),
    );
    const error = await failure(
      importObject(runtime, ID, { bucket: BUCKET, key: 'big.bin', destPath: '/tmp/big.bin' }, connection, {
        maxBytes: 1024,
      }),
    );
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toMatch(/2048 bytes, more than the limit of 1024 bytes/);
    expect((await failure(runtime.stat(ID, '/tmp/big.bin'))).code).toBe('FILE_NOT_FOUND');
  });

  it('aborts mid-stream when more bytes arrive than the limit (no or lying Content-Length)', async () => {
    const stub = stubConnection({
      sneaky: { body: [Buffer.alloc(600), Buffer.alloc(600)], contentLength: 100 },
      unsized: { body: [Buffer.alloc(700), Buffer.alloc(700)] },
    });
    for (const key of ['sneaky', 'unsized']) {
      const error = await failure(
        importObject(runtime, ID, { bucket: 'stub', key, destPath: `/tmp/${key}` }, stub, { maxBytes: 1000 }),
      );
      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      expect((await failure(runtime.stat(ID, `/tmp/${key}`))).code).toBe('FILE_NOT_FOUND');
    }
  });

  it('refuses a file larger than maxBytes on export', async () => {
    await runtime.writeFile(ID, '/tmp/export-big.bin', Buffer.alloc(5000));
    const error = await failure(
      exportObject(runtime, ID, { sourcePath: '/tmp/export-big.bin', bucket: BUCKET, key: 'x' }, connection, {
        maxBytes: 4096,
      }),
    );
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('uses a multipart upload above the threshold', async () => {
    const data = randomBytes(20 * 1024 * 1024 + 123);
    await runtime.writeFile(ID, '/tmp/multi.bin', data);
    const seen: string[] = [];
    const client = connection.client;
    const send = client.send.bind(client);
    client.send = ((command: { constructor: { name: string } }, ...rest: unknown[]) => {
      seen.push(command.constructor.name);
      return (send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
    }) as typeof client.send;
    try {
      await exportObject(
        runtime,
        ID,
        { sourcePath: '/tmp/multi.bin', bucket: BUCKET, key: 'multi.bin' },
        connection,
        { multipartThresholdBytes: 1024 * 1024 },
      );
    } finally {
      client.send = send;
    }
    expect(seen).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'UploadPartCommand',
      'CompleteMultipartUploadCommand',
    ]);
    const head = await connection.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'multi.bin' }));
    expect(head.ContentLength).toBe(data.length);
    await importObject(
      runtime,
      ID,
      { bucket: BUCKET, key: 'multi.bin', destPath: '/tmp/multi-back.bin' },
      connection,
    );
    expect((await readAll('/tmp/multi-back.bin')).equals(data)).toBe(true);
  });

  it('maps S3 failures: missing bucket, missing key, wrong credentials; sandbox errors pass through', async () => {
    expect(
      (await failure(importObject(runtime, ID, { bucket: 'nope', key: 'k', destPath: '/tmp/k' }, connection)))
        .code,
    ).toBe('S3_NOT_FOUND');
    expect(
      (
        await failure(
          importObject(runtime, ID, { bucket: BUCKET, key: 'missing', destPath: '/tmp/k' }, connection),
        )
      ).code,
    ).toBe('S3_NOT_FOUND');
    await runtime.writeFile(ID, '/tmp/small.txt', 'hi');
    expect(
      (
        await failure(
          exportObject(runtime, ID, { sourcePath: '/tmp/small.txt', bucket: 'nope', key: 'k' }, connection),
        )
      ).message,
    ).toMatch(/^bucket nope does not exist/);
    expect(
      (
        await failure(
          exportObject(runtime, ID, { sourcePath: '/tmp/missing.txt', bucket: BUCKET, key: 'k' }, connection),
        )
      ).code,
    ).toBe('FILE_NOT_FOUND');
    expect(
      (
        await failure(
          importObject(runtime, ID, { bucket: BUCKET, key: 'one/data.bin', destPath: '/etc/x' }, connection),
        )
      ).code,
    ).toBe('READ_ONLY');
    expect(
      (
        await failure(
          importObject(
            runtime,
            ID,
            { bucket: BUCKET, key: 'one/data.bin', destPath: 'relative' },
            connection,
          ),
        )
      ).code,
    ).toBe('INVALID_PATH');
    const wrong = await createS3Client(
      resolveS3({ bucket: BUCKET, accessKey: 'NOT-A-KEY', secretKey: 'nope-secret' }, server),
      policy,
    );
    try {
      const error = await failure(
        exportObject(runtime, ID, { sourcePath: '/tmp/small.txt', bucket: BUCKET, key: 'k' }, wrong),
      );
      expect(error.code).toBe('S3_ACCESS_DENIED');
      expect(error.message).not.toMatch(/NOT-A-KEY|nope-secret/);
    } finally {
      wrong.destroy();
    }
  });
});
