/**
 * The body of a synchronous exec's answer. A small result is an ordinary JSON object. A large one (up to
 * `exec.max_output_bytes` of stdout and of stderr) is written as the same JSON text in pieces, so the server never
 * holds the output as a whole string, its escaped copy and its encoded copy at once: that would triple, for every
 * concurrent exec, what the output limit promises.
 */
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
/** A byte JSON must escape or that is not ASCII (printable ASCII but `"` and `\`, and DEL, are copied as they are). */
const NOT_PLAIN = /[^\x20\x21\x23-\x5b\x5d-\x7f]/;

/**
 * A JSON string literal of `bytes` decoded as UTF-8 (invalid bytes become U+FFFD, as `toString` does), in pieces.
 * Output is mostly plain ASCII, which is its own JSON text: such pieces go out as the bytes they are, without a
 * decode, an escape and an encode (four times the rate for 10 MB). From the first piece that is not plain, the rest
 * goes through the decoder, which may hold a character cut at a piece's end.
 */
export function* jsonStringPieces(bytes: Buffer): Generator<string | Buffer> {
  yield '"';
  let offset = 0;
  for (; offset < bytes.length; offset += PLAIN_PIECE_BYTES) {
    const piece = bytes.subarray(offset, offset + PLAIN_PIECE_BYTES);
    if (NOT_PLAIN.test(piece.toString('latin1'))) break;
    yield piece;
  }
  const decoder = new StringDecoder('utf8');
  for (; offset < bytes.length; offset += PIECE_BYTES) {
    const text = decoder.write(bytes.subarray(offset, offset + PIECE_BYTES));
    if (text !== '') yield JSON.stringify(text).slice(1, -1);
  }
  const rest = decoder.end();
  if (rest !== '') yield JSON.stringify(rest).slice(1, -1);
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
