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

/** A JSON string literal of `bytes` decoded as UTF-8 (invalid bytes become U+FFFD, as `toString` does), in pieces. */
export function* jsonStringPieces(bytes: Buffer): Generator<string> {
  const decoder = new StringDecoder('utf8');
  yield '"';
  for (let offset = 0; offset < bytes.length; offset += PIECE_BYTES) {
    const text = decoder.write(bytes.subarray(offset, offset + PIECE_BYTES));
    if (text !== '') yield JSON.stringify(text).slice(1, -1);
  }
  const rest = decoder.end();
  if (rest !== '') yield JSON.stringify(rest).slice(1, -1);
  yield '"';
}

/** The text of `JSON.stringify(execToWire(result))`, in pieces. */
export function* execResponsePieces(result: ExecResult): Generator<string> {
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
