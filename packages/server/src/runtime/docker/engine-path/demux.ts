/**
 * Docker's multiplexed exec stream (no TTY): frames of an 8-byte header (stream type, three zero bytes, u32
 * big-endian length) and the payload. Demuxed here, for the Engine API path, into ordered stdout/stderr chunks;
 * iterating the socket pulls only as fast as the consumer reads, so large outputs never pile up in memory.
 */

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: Buffer;
}

const HEADER_BYTES = 8;

export async function* demuxDockerStream(
  source: AsyncIterable<Buffer | string>,
): AsyncGenerator<OutputChunk> {
  let pending: Buffer = Buffer.alloc(0);
  // Bytes of the current frame still to come, and its stream.
  let remaining = 0;
  let stream: OutputChunk['stream'] = 'stdout';
  for await (const raw of source) {
    let chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    while (chunk.length > 0) {
      if (remaining > 0) {
        const take = Math.min(remaining, chunk.length);
        yield { stream, data: chunk.subarray(0, take) };
        remaining -= take;
        chunk = chunk.subarray(take);
        continue;
      }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      chunk = Buffer.alloc(0);
      if (pending.length < HEADER_BYTES) break;
      // Type 0 is stdin (never sent on output), 1 stdout, 2 stderr; anything else is treated as stdout.
      stream = pending[0] === 2 ? 'stderr' : 'stdout';
      remaining = pending.readUInt32BE(4);
      chunk = pending.subarray(HEADER_BYTES);
      pending = Buffer.alloc(0);
    }
  }
}
