/**
 * Framing of the burrow-agent protocol (agent/PROTOCOL.md): `type` byte, u32 big-endian length, payload.
 * Pure encoding and decoding; transports live elsewhere.
 */

import { BurrowError } from '@burrow/protocol';

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

/** The agent broke the protocol; what it sent is never trusted further. */
export function protocolError(what: string): BurrowError {
  return new BurrowError('AGENT_PROTOCOL', `the sandbox agent sent ${what}`);
}

/** Reads a payload written by the agent. Throws AGENT_PROTOCOL on truncated input. */
export class PayloadReader {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  private take(count: number): number {
    if (this.offset + count > this.buffer.length) throw protocolError('a truncated frame');
    const at = this.offset;
    this.offset += count;
    return at;
  }

  u32(): number {
    return this.buffer.readUInt32BE(this.take(4));
  }

  i32(): number {
    return this.buffer.readInt32BE(this.take(4));
  }

  u64(): number {
    return Number(this.buffer.readBigUInt64BE(this.take(8)));
  }

  i64(): number {
    return Number(this.buffer.readBigInt64BE(this.take(8)));
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  bytes(): Buffer {
    const length = this.u32();
    const at = this.take(length);
    return this.buffer.subarray(at, at + length);
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
        throw protocolError(`a frame of ${payloadLength} bytes, over the limit of ${MAX_FRAME_PAYLOAD}`);
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
