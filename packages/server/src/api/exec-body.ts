/**
 * The body of a synchronous exec's answer. A small result is an ordinary JSON object. A large one (up to
 * `exec.max_output_bytes` of stdout and of stderr) is written as the same JSON text in pieces, so the server never
 * holds the output as a whole string, its escaped copy and its encoded copy at once: that would triple, for every
 * concurrent exec, what the output limit promises.
 */
import { isAscii } from 'node:buffer';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { ExecResponse } from '@burrow/protocol';
import type { ExecResult } from '../runtime/runtime.js';
import { execToWire } from './wire.js';

/** Output (stdout + stderr) above which the answer is streamed. */
export const STREAMED_BODY_BYTES = 1024 * 1024;
/** Bytes of output decoded and escaped at a time. */
const PIECE_BYTES = 64 * 1024;
/** Bytes checked at a time on the fast path. */
const PLAIN_PIECE_BYTES = 256 * 1024;

/** Whether `bytes` is ASCII with no byte JSON must escape (`"`, `\`, and controls below 0x20): its own JSON text. */
export function isPlainJson(bytes: Buffer): boolean {
  return isAscii(bytes) && bytes.indexOf(0x22) === -1 && bytes.indexOf(0x5c) === -1 && !hasControl(bytes);
}

/**
 * Whether ASCII `bytes` hold a byte below 0x20, four bytes at a time: with every byte below 0x80, `x - 0x20202020`
 * borrows into a byte's high bit exactly when some byte is below 0x20 (the SWAR "has less" test). A quarter of a
 * regular expression's time over a latin1 copy, and no copy.
 */
function hasControl(bytes: Buffer): boolean {
  const length = bytes.length;
  const head = Math.min((4 - (bytes.byteOffset & 3)) & 3, length);
  for (let i = 0; i < head; i += 1) if (bytes[i]! < 0x20) return true;
  const words = (length - head) >>> 2;
  // A view's offset must be aligned even when it is empty: make one only with words to read.
  if (words > 0) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + head, words);
    for (let w = 0; w < words; w += 1) {
      const x = view[w]!;
      if (((x - 0x20202020) & ~x & 0x80808080) !== 0) return true;
    }
  }
  for (let i = head + words * 4; i < length; i += 1) if (bytes[i]! < 0x20) return true;
  return false;
}

/**
 * The inside of a JSON string literal of bytes that arrive in parts, decoded as UTF-8 (invalid bytes become U+FFFD,
 * as `toString` does). Output is mostly plain ASCII, which is its own JSON text: such pieces go out as the bytes they
 * are, without a decode, an escape and an encode (four times the rate for 10 MB). From the first piece that is not
 * plain, the rest goes through the decoder, which may hold a character cut at a part's end until the next.
 */
export class JsonStringText {
  private decoder: StringDecoder | undefined;

  *write(bytes: Buffer): Generator<string | Buffer> {
    let offset = 0;
    if (this.decoder === undefined) {
      for (; offset < bytes.length; offset += PLAIN_PIECE_BYTES) {
        const piece = bytes.subarray(offset, offset + PLAIN_PIECE_BYTES);
        if (!isPlainJson(piece)) {
          this.decoder = new StringDecoder('utf8');
          break;
        }
        yield piece;
      }
    }
    const decoder = this.decoder;
    if (decoder === undefined) return;
    for (; offset < bytes.length; offset += PIECE_BYTES) {
      const text = decoder.write(bytes.subarray(offset, offset + PIECE_BYTES));
      if (text !== '') yield JSON.stringify(text).slice(1, -1);
    }
  }

  /** What the decoder still holds (a cut character, as U+FFFD). */
  *end(): Generator<string> {
    const rest = this.decoder?.end() ?? '';
    if (rest !== '') yield JSON.stringify(rest).slice(1, -1);
  }
}

/** A JSON string literal of `bytes` (see {@link JsonStringText}), in pieces. */
export function* jsonStringPieces(bytes: Buffer): Generator<string | Buffer> {
  yield '"';
  const text = new JsonStringText();
  yield* text.write(bytes);
  yield* text.end();
  yield '"';
}

/** The text of `JSON.stringify(execToWire(result))`, in pieces (strings, and plain ASCII as bytes). */
export function* execResponsePieces(result: ExecResult): Generator<string | Buffer> {
  yield `{"exit_code":${JSON.stringify(result.exitCode)},"stdout":`;
  yield* jsonStringPieces(result.stdout);
  yield ',"stderr":';
  yield* jsonStringPieces(result.stderr);
  yield `,"timed_out":${JSON.stringify(result.timedOut)}`;
  if (result.truncated) yield ',"truncated":true';
  yield '}';
}

/** The answer's body: the wire object, or for large output the same JSON as a stream. */
export function execResponseBody(result: ExecResult): ExecResponse | Readable {
  if (result.stdout.length + result.stderr.length <= STREAMED_BODY_BYTES) return execToWire(result);
  return Readable.from(execResponsePieces(result), { objectMode: false });
}
