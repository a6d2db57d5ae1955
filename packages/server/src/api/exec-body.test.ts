import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  execResponseBody,
  execResponsePieces,
  isPlainJson,
  JsonStringText,
  STREAMED_BODY_BYTES,
} from './exec-body.js';
import { execToWire } from './wire.js';
import type { ExecResult } from '../runtime/runtime.js';

function result(stdout: Buffer, stderr: Buffer, truncated = false): ExecResult {
  return { exitCode: 3, stdout, stderr, timedOut: false, truncated };
}

describe('the streamed exec answer', () => {
  it('is exactly the JSON of the wire object, whatever the bytes', () => {
    // Multi-byte characters straddling the 64 KiB pieces, invalid UTF-8, quotes, controls, a cut sequence at the end.
    const text = Buffer.from('é€😀"\\\n\t\u0001'.repeat(30_000));
    const plain = Buffer.alloc(700_000, 'a');
    const cases = [
      result(text, randomBytes(200_000), true),
      // Plain ASCII (sent as bytes), then a piece that is not, with a character cut at a piece boundary.
      result(Buffer.concat([plain, Buffer.from('"\\\u007f\u0000é'), plain]), Buffer.from('ok\n')),
      result(Buffer.concat([Buffer.alloc(512 * 1024 - 1, 'b'), Buffer.from('€'), plain]), Buffer.alloc(0)),
      result(Buffer.alloc(300_000, 0x7f), Buffer.alloc(0)),
      result(Buffer.concat([randomBytes(150_001), Buffer.from([0xe2, 0x82])]), Buffer.alloc(0)),
      result(Buffer.alloc(0), Buffer.alloc(0)),
    ];
    for (const item of cases) {
      const streamed = Buffer.concat(
        [...execResponsePieces(item)].map((piece) =>
          typeof piece === 'string' ? Buffer.from(piece) : piece,
        ),
      ).toString('utf8');
      expect(streamed).toBe(JSON.stringify(execToWire(item)));
    }
  });

  it('is the same JSON text when the bytes arrive in parts of any size', () => {
    const bytes = Buffer.concat([
      Buffer.alloc(300_000, 'a'),
      Buffer.from('é€😀"\\\n\t\u0001'.repeat(20_000)),
      randomBytes(50_000),
      Buffer.from([0xe2, 0x82]),
    ]);
    for (const size of [1, 7, 4096, 65_537, 1_000_000]) {
      const text = new JsonStringText();
      const pieces: (string | Buffer)[] = [];
      // Parts of one byte only over the first 20,000 bytes, or the test would take long.
      const limit = size === 1 ? 20_000 : bytes.length;
      for (let offset = 0; offset < limit; offset += size)
        pieces.push(...text.write(bytes.subarray(offset, Math.min(offset + size, limit))));
      pieces.push(...text.end());
      const joined = Buffer.concat(
        pieces.map((piece) => (typeof piece === 'string' ? Buffer.from(piece) : piece)),
      );
      expect(`"${joined.toString('utf8')}"`).toBe(JSON.stringify(bytes.subarray(0, limit).toString('utf8')));
    }
  });

  it('copies bytes as they are exactly when they are ASCII that JSON does not escape', () => {
    const escaped = (bytes: Buffer) => /[^\x20\x21\x23-\x5b\x5d-\x7f]/.test(bytes.toString('latin1'));
    const backing = Buffer.alloc(64);
    for (let round = 0; round < 20_000; round += 1) {
      // Any length and any alignment (the check reads four bytes at a time).
      const start = round % 4;
      const bytes = backing.subarray(start, start + (round % 40));
      bytes.fill('a');
      for (let i = 0; i < bytes.length; i += 1)
        if ((round * 7 + i) % 23 === 0) bytes[i] = (round * 31 + i) % 256;
      expect(isPlainJson(bytes)).toBe(!escaped(bytes));
    }
    for (const byte of [0x00, 0x1f, 0x22, 0x5c, 0x80, 0xff])
      expect(isPlainJson(Buffer.from([0x61, byte]))).toBe(false);
    for (const byte of [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f])
      expect(isPlainJson(Buffer.from([0x61, byte]))).toBe(true);
  });

  it('is used only for large output; small answers stay plain objects', () => {
    expect(execResponseBody(result(Buffer.from('hi'), Buffer.alloc(0)))).toEqual({
      exit_code: 3,
      stdout: 'hi',
      stderr: '',
      timed_out: false,
    });
    expect(execResponseBody(result(Buffer.alloc(STREAMED_BODY_BYTES + 1), Buffer.alloc(0)))).toHaveProperty(
      'pipe',
    );
  });
});
