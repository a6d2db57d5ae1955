/** Turning what callers write into a fetch body, streamed when it is a stream, with optional progress counting. */
import type { RequestBody } from './http.js';
import type { ProgressCallback } from './types.js';

/** Anything `sandbox.files.write()` accepts. Streams and async iterables are sent without buffering. */
export type WriteData =
  string | Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/** A ReadableStream pulling from an async iterable (Node streams, generators). */
export function iterableToStream(iterable: AsyncIterable<Uint8Array | string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let iterator: AsyncIterator<Uint8Array | string> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= iterable[Symbol.asyncIterator]();
      const { value, done } = await iterator.next();
      if (done === true) controller.close();
      else controller.enqueue(typeof value === 'string' ? encoder.encode(value) : value);
    },
    async cancel(reason) {
      await iterator?.return?.(reason);
    },
  });
}

/** Wraps a stream so that `onProgress` sees the bytes as they pass. */
export function countingStream(
  stream: ReadableStream<Uint8Array>,
  total: number | undefined,
  onProgress: ProgressCallback,
): ReadableStream<Uint8Array> {
  let transferred = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        transferred += chunk.byteLength;
        onProgress(transferred, total);
        controller.enqueue(chunk);
      },
    }),
  );
}

export interface PreparedBody {
  body: RequestBody;
  /** Byte length when known up front. */
  size: number | undefined;
}

/** Converts write data to a body; with `onProgress`, the body always streams so progress can be counted. */
export function toBody(data: WriteData, onProgress?: ProgressCallback): PreparedBody {
  let stream: ReadableStream<Uint8Array>;
  let size: number | undefined;
  if (typeof data === 'string') {
    const bytes = new TextEncoder().encode(data);
    if (onProgress === undefined) return { body: bytes, size: bytes.byteLength };
    stream = new Blob([bytes]).stream();
    size = bytes.byteLength;
  } else if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    if (onProgress === undefined) return { body: bytes, size: bytes.byteLength };
    stream = new Blob([bytes]).stream();
    size = bytes.byteLength;
  } else if (data instanceof Blob) {
    if (onProgress === undefined) return { body: data, size: data.size };
    stream = data.stream();
    size = data.size;
  } else if (data instanceof ReadableStream) {
    stream = data;
  } else if (isAsyncIterable(data)) {
    stream = iterableToStream(data);
  } else {
    throw new TypeError(
      'write data must be a string, Uint8Array, ArrayBuffer, Blob, ReadableStream or AsyncIterable',
    );
  }
  return { body: onProgress === undefined ? stream : countingStream(stream, size, onProgress), size };
}
