import { randomBytes, randomInt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dataFrames, encodeFrame, FrameDecoder, MAX_FRAME_PAYLOAD } from './frames.js';

describe('FrameDecoder', () => {
  it('rebuilds frames from a stream cut at arbitrary points', () => {
    const payloads = [Buffer.alloc(0), randomBytes(3), randomBytes(MAX_FRAME_PAYLOAD), randomBytes(70_000)];
    const stream = Buffer.concat(
      payloads.map((payload, index) => encodeFrame('abcd'[index] ?? 'x', payload)),
    );
    for (let round = 0; round < 20; round++) {
      const decoder = new FrameDecoder();
      const frames = [];
      for (let offset = 0; offset < stream.length;) {
        const size = round === 0 ? 1 : randomInt(1, 200_000);
        frames.push(...decoder.push(stream.subarray(offset, offset + size)));
        offset += size;
      }
      expect(frames.map((frame) => frame.type)).toEqual(['a', 'b', 'c', 'd']);
      frames.forEach((frame, index) => expect(frame.payload.equals(payloads[index] as Buffer)).toBe(true));
      expect(decoder.buffered).toBe(0);
    }
  });

  it('splits large data into frames of at most 1 MiB', () => {
    const data = randomBytes(MAX_FRAME_PAYLOAD * 2 + 5);
    const frames = [...dataFrames('d', data)];
    expect(frames.map((frame) => frame.length - 5)).toEqual([MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD, 5]);
  });

  it('refuses a frame longer than the limit', () => {
    const header = Buffer.from([0x64, 0xff, 0xff, 0xff, 0xff]);
    expect(() => new FrameDecoder().push(header)).toThrow(/over the limit/);
  });
});
