/**
 * Streaming one object between S3 and a sandbox file. Neither direction holds the object in memory: GetObject's
 * body is piped into `Runtime.writeFile`, and `Runtime.readFile`'s stream is the PutObject body.
 *
 * Export uses PutObject with the file's size as Content-Length: one request, nothing buffered, nothing to clean up
 * on failure, and accepted by every S3-compatible server. PutObject's limit is 5 GiB (the default `maxBytes`);
 * only larger files (when an operator raises the limit) go through `@aws-sdk/lib-storage`'s multipart Upload, which
 * buffers `queueSize × partSize` bytes.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BurrowError } from '@burrow/protocol';
import type { Runtime } from '../../runtime/runtime.js';
import { sandboxPathString } from '../../runtime/paths.js';
import type { S3Connection } from './client.js';

export const DEFAULT_MAX_TRANSFER_BYTES = 5 * 1024 ** 3;
/** Largest single PutObject S3 accepts. */
export const PUT_OBJECT_LIMIT_BYTES = 5 * 1024 ** 3;
const MAX_PARTS = 10_000;
const MIN_PART_BYTES = 8 * 1024 ** 2;

export interface TransferOptions {
  /** Largest object or file moved; default 5 GiB. Bigger ones fail with PAYLOAD_TOO_LARGE. */
  maxBytes?: number;
  /** Files above this size use a multipart upload; default 5 GiB (PutObject's limit). */
  multipartThresholdBytes?: number;
  signal?: AbortSignal;
}

export interface ImportObjectInput {
  bucket: string;
  key: string;
  destPath: string;
}

export interface ExportObjectInput {
  sourcePath: string;
  bucket: string;
  key: string;
}

function tooLarge(what: string, bytes: number | undefined, limit: number): BurrowError {
  const size = bytes === undefined ? 'more than' : `${bytes} bytes, more than`;
  return new BurrowError(
    'PAYLOAD_TOO_LARGE',
    `${what} is ${size} the limit of ${limit} bytes: transfer a smaller object or raise the limit`,
    {
      limit_bytes: limit,
    },
  );
}

/** Passes chunks through, failing with PAYLOAD_TOO_LARGE as soon as more than `limit` bytes have come. */
async function* capped(
  source: AsyncIterable<Uint8Array>,
  limit: number,
  what: string,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > limit) throw tooLarge(what, undefined, limit);
    yield chunk;
  }
}

/** Passes exactly `size` bytes through; a file that grows or shrinks while it is read fails the upload. */
async function* exactly(
  source: AsyncIterable<Uint8Array>,
  size: number,
  path: string,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > size)
      throw new BurrowError(
        'CONFLICT',
        `${path} grew while it was exported: export it again once it is no longer written to`,
      );
    yield chunk;
  }
  if (total < size)
    throw new BurrowError(
      'CONFLICT',
      `${path} shrank while it was exported: export it again once it is no longer written to`,
    );
}

/** Downloads `s3://bucket/key` into `destPath` inside the sandbox (parents created, file replaced). */
export async function importObject(
  runtime: Runtime,
  sandboxId: string,
  input: ImportObjectInput,
  connection: S3Connection,
  options: TransferOptions = {},
): Promise<{ bytes: number }> {
  const destPath = sandboxPathString(input.destPath, 'dest_path');
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
  const context = { bucket: input.bucket, key: input.key };
  const what = `s3://${input.bucket}/${input.key}`;
  let body: Readable;
  try {
    const response = await connection.client.send(
      new GetObjectCommand({ Bucket: input.bucket, Key: input.key }),
      options.signal === undefined ? {} : { abortSignal: options.signal },
    );
    if (!(response.Body instanceof Readable))
      throw new BurrowError('S3_ERROR', `${what}: the S3 response had no readable body`);
    body = response.Body;
    if (response.ContentLength !== undefined && response.ContentLength > maxBytes) {
      body.destroy();
      throw tooLarge(what, response.ContentLength, maxBytes);
    }
  } catch (error) {
    throw connection.error(error, context);
  }
  try {
    const writeOptions = options.signal === undefined ? {} : { signal: options.signal };
    return await runtime.writeFile(sandboxId, destPath, capped(body, maxBytes, what), writeOptions);
  } catch (error) {
    throw connection.error(error, context);
  } finally {
    body.destroy();
  }
}

/** Uploads the sandbox file `sourcePath` to `s3://bucket/key`. */
export async function exportObject(
  runtime: Runtime,
  sandboxId: string,
  input: ExportObjectInput,
  connection: S3Connection,
  options: TransferOptions = {},
): Promise<{ bytes: number }> {
  const sourcePath = sandboxPathString(input.sourcePath, 'source_path');
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
  const threshold = Math.min(
    options.multipartThresholdBytes ?? PUT_OBJECT_LIMIT_BYTES,
    PUT_OBJECT_LIMIT_BYTES,
  );
  const context = { bucket: input.bucket, key: input.key };
  const file = await runtime.readFile(sandboxId, sourcePath);
  const size = file.info.size;
  try {
    if (size > maxBytes) throw tooLarge(sourcePath, size, maxBytes);
    const body = Readable.from(exactly(file.body, size, sourcePath), { objectMode: false });
    const abort = options.signal === undefined ? {} : { abortSignal: options.signal };
    if (size <= threshold) {
      await connection.client.send(
        new PutObjectCommand({ Bucket: input.bucket, Key: input.key, Body: body, ContentLength: size }),
        abort,
      );
    } else {
      const upload = new Upload({
        client: connection.client,
        params: { Bucket: input.bucket, Key: input.key, Body: body },
        partSize: Math.max(MIN_PART_BYTES, Math.ceil(size / MAX_PARTS)),
        queueSize: 4,
        leavePartsOnError: false,
      });
      const stop = () => void upload.abort();
      options.signal?.addEventListener('abort', stop, { once: true });
      try {
        await upload.done();
      } finally {
        options.signal?.removeEventListener('abort', stop);
      }
    }
    return { bytes: size };
  } catch (error) {
    throw connection.error(error, context);
  } finally {
    file.body.destroy();
  }
}
