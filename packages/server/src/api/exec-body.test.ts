import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { execResponseBody, execResponsePieces, STREAMED_BODY_BYTES } from './exec-body.js';
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
