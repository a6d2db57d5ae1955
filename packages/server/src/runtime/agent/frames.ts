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

/** Incremental decoder: feed it chunks, take complete frames. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (length > MAX_FRAME_PAYLOAD) throw new RangeError(`agent frame of ${length} bytes exceeds the limit`);
      if (this.pending.length < 5 + length) break;
      frames.push({
        type: String.fromCharCode(this.pending[0] ?? 0),
        payload: this.pending.subarray(5, 5 + length),
      });
      this.pending = this.pending.subarray(5 + length);
    }
    return frames;
  }

  /** Bytes received that do not yet form a whole frame. */
  get buffered(): number {
    return this.pending.length;
  }
}
