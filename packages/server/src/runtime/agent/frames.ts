/**
 * Framing of the burrow-agent protocol (agent/PROTOCOL.md): `type` byte, u32 big-endian length, payload.
 * Pure encoding and decoding; transports live elsewhere.
 */

export const MAX_FRAME_PAYLOAD = 1024 * 1024;

export interface Frame {
  type: string;
  payload: Buffer;
}

export function encodeFrame(type: string, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const header = Buffer.allocUnsafe(5);
  header.write(type, 0, 1, 'latin1');
  header.writeUInt32BE(payload.length, 1);
  return Buffer.concat([header, payload]);
}

/** Splits `data` into frames of at most {@link MAX_FRAME_PAYLOAD} bytes. */
export function* dataFrames(type: string, data: Uint8Array): Generator<Buffer> {
  for (let offset = 0; offset < data.length; offset += MAX_FRAME_PAYLOAD) {
    yield encodeFrame(type, data.subarray(offset, offset + MAX_FRAME_PAYLOAD));
  }
}

/** Builds a payload from strings (u32 length + bytes), u32s and i32s in order. */
export class PayloadWriter {
  private readonly parts: Buffer[] = [];

  string(value: string | Uint8Array): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
    this.u32(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  strings(values: readonly (string | Uint8Array)[]): this {
    this.u32(values.length);
    for (const value of values) this.string(value);
    return this;
  }

  u32(value: number): this {
    const buffer = Buffer.allocUnsafe(4);
    buffer.writeUInt32BE(value >>> 0, 0);
    this.parts.push(buffer);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Reads a payload written by the agent. Throws on truncated input. */
export class PayloadReader {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  u32(): number {
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  i32(): number {
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  u64(): number {
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return Number(value);
  }

  i64(): number {
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return Number(value);
  }

  bytes(): Buffer {
    const length = this.u32();
    if (this.offset + length > this.buffer.length) throw new RangeError('truncated string in agent frame');
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }
}

/**
 * Incremental decoder: feed it chunks, take complete frames. Chunks are kept as a list and joined once per frame,
 * so a 1 MiB frame arriving in 64 KiB pieces costs one copy, not one per piece.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): Frame[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames: Frame[] = [];
    while (this.length >= 5) {
      const header = this.peekHeader();
      const payloadLength = header.readUInt32BE(1);
      if (payloadLength > MAX_FRAME_PAYLOAD)
        throw new RangeError(`agent frame of ${payloadLength} bytes exceeds the limit`);
      if (this.length < 5 + payloadLength) break;
      const whole = this.take(5 + payloadLength);
      frames.push({ type: String.fromCharCode(whole[0] ?? 0), payload: whole.subarray(5) });
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get buffered(): number {
    return this.length;
  }

  private peekHeader(): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 5) return first;
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  /** Removes and returns the first `count` bytes. */
  private take(count: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let result: Buffer;
    if (first.length >= count) {
      result = first.subarray(0, count);
      if (first.length === count) this.chunks.shift();
      else this.chunks[0] = first.subarray(count);
    } else {
      const joined = Buffer.concat(this.chunks, this.length);
      result = joined.subarray(0, count);
      this.chunks = joined.length > count ? [joined.subarray(count)] : [];
    }
    this.length -= count;
    return result;
  }
}
