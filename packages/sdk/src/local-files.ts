/**
 * The Node-only half of upload/download: local files as streams. `node:` modules are imported lazily so the rest of
 * the SDK loads where they do not exist.
 */
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { ProgressCallback } from './types.js';

/** Opens a local file as an async iterable of chunks and hands it, with its size, to `send`. */
export async function uploadFromFile<T>(
  localPath: string,
  send: (stream: AsyncIterable<Uint8Array>, size: number) => Promise<T>,
): Promise<T> {
  const { createReadStream } = await import('node:fs');
  const { stat } = await import('node:fs/promises');
  const info = await stat(localPath);
  if (info.isDirectory()) throw new Error(`${localPath} is a directory: upload copies one file`);
  // 1 MiB reads: a fetch body sends each chunk as it comes, and 64 KiB ones (the default) halve the upload rate.
  const stream = createReadStream(localPath, { highWaterMark: 1024 * 1024 });
  try {
    return await send(stream, info.size);
  } finally {
    stream.destroy();
  }
}

/** Bytes buffered on the way to a downloaded file (the defaults, 16 KiB, wait for the disk every few chunks). */
const DOWNLOAD_BUFFER_BYTES = 1024 * 1024;

/** Writes a web stream to a local file with backpressure; resolves with the byte count. */
export async function downloadToFile(
  body: ReadableStream<Uint8Array>,
  localPath: string,
  total: number | undefined,
  onProgress?: ProgressCallback,
): Promise<number> {
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  const { Readable } = await import('node:stream');
  let transferred = 0;
  await pipeline(
    Readable.fromWeb(body as NodeReadableStream<Uint8Array>, { highWaterMark: DOWNLOAD_BUFFER_BYTES }),
    async function* count(source: AsyncIterable<Uint8Array>) {
      for await (const chunk of source) {
        transferred += chunk.byteLength;
        onProgress?.(transferred, total);
        yield chunk;
      }
    },
    // 1 MiB buffers on both sides: the write side then hands the disk large writes (about 1.5× the rate for 100 MB).
    createWriteStream(localPath, { highWaterMark: DOWNLOAD_BUFFER_BYTES }),
  );
  return transferred;
}
