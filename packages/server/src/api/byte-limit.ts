/** Stream guards for file bodies: a cap on what a client may send, and an exact length for what we send. */
import { Transform, type Readable } from 'node:stream';

/**
 * Passes chunks through until more than `max` bytes arrived, then fails with `tooLarge()`: the consumer (the
 * runtime's write) sees an error mid-stream and discards the partial file instead of storing a truncated one.
 */
export async function* limitBytes(
  source: AsyncIterable<Uint8Array>,
  max: number,
  tooLarge: () => Error,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > max) throw tooLarge();
    yield chunk;
  }
}

/**
 * Sends exactly `size` bytes (the Content-Length already promised): a file that grew since it was measured is
 * cut at its measured size, as a web server sending a file does, so the HTTP framing stays intact.
 */
export function exactLength(body: Readable, size: number): Readable {
  let remaining = size;
  const guard = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      if (remaining <= 0) {
        callback();
        return;
      }
      const part = chunk.length <= remaining ? chunk : chunk.subarray(0, remaining);
      remaining -= part.length;
      callback(null, part);
      if (remaining <= 0) {
        this.end();
        body.destroy();
      }
    },
    flush(callback) {
      // A file that shrank cannot fill the promised length: fail, so the client sees a broken transfer.
      callback(
        remaining > 0 ? new Error(`the file ended ${remaining} bytes short of its measured size`) : null,
      );
    },
  });
  body.on('error', (error) => guard.destroy(error));
  guard.on('close', () => body.destroy());
  return body.pipe(guard);
}
