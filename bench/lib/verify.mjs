/**
 * Byte checks: every transfer of every system is checked against the SHA-256 of what was sent or produced, so a
 * fast system that loses or changes bytes fails its job instead of winning it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const MiB = 1024 * 1024;

/**
 * `bytes` of random data in 1 MiB chunks (one chunk, reused) and its SHA-256, computed once, untimed. `chunks()`
 * can be iterated any number of times.
 */
export function makePayload(bytes) {
  const chunk = randomBytes(MiB);
  const chunks = function* () {
    for (let sent = 0; sent < bytes; sent += chunk.length)
      yield chunk.subarray(0, Math.min(chunk.length, bytes - sent));
  };
  const hash = createHash('sha256');
  for (const piece of chunks()) hash.update(piece);
  return {
    bytes,
    sha256: hash.digest('hex'),
    /** An async iterable of the bytes, for streamed uploads. */
    async *stream() {
      yield* chunks();
    },
  };
}

/**
 * Writes the payload to `<dir>/payload-<bytes>.bin` (untimed) and records the path as `payload.path`: the file the
 * clients that send files (curl -T, curl -F, docker cp, cp) send, as their users would.
 */
export async function writePayloadFile(payload, dir) {
  const path = join(dir, `payload-${payload.bytes}.bin`);
  await pipeline(Readable.from(payload.stream()), createWriteStream(path));
  payload.path = path;
  return payload;
}

/** Checks a file on the host against what was sent (untimed, after a transfer wrote it). */
export async function expectFile(path, expected, what) {
  expectDigest(await digestOf(createReadStream(path, { highWaterMark: MiB })), expected, what);
}

/** SHA-256 and length of a stream of bytes (or strings), read to its end. */
export async function digestOf(stream) {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(data);
    bytes += data.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

export function digestOfBuffer(data) {
  const buffer = typeof data === 'string' ? Buffer.from(data) : data;
  return { bytes: buffer.length, sha256: createHash('sha256').update(buffer).digest('hex') };
}

/** What `head -c N /dev/zero | tr '\0' a` prints. */
export function letters(bytes) {
  return digestOfBuffer(Buffer.alloc(bytes, 'a'));
}

export function expectDigest(actual, expected, what) {
  if (actual.bytes !== expected.bytes || actual.sha256 !== expected.sha256) {
    throw new Error(
      `${what}: expected ${expected.bytes} bytes with sha256 ${expected.sha256.slice(0, 12)}…, ` +
        `got ${actual.bytes} bytes with sha256 ${actual.sha256.slice(0, 12)}…`,
    );
  }
}

/** The command that prints a file's SHA-256 and size inside a sandbox (busybox and coreutils alike). */
export const DIGEST_CMD = (path) => ['sh', '-c', `sha256sum ${path} && wc -c < ${path}`];

/** Parses what {@link DIGEST_CMD} printed. */
export function parseDigest(stdout, what) {
  const match = /^([0-9a-f]{64})\s.*\n\s*(\d+)\s*$/s.exec(stdout.trim());
  if (match === null)
    throw new Error(`${what}: the digest command printed ${JSON.stringify(stdout.slice(0, 160))}`);
  return { sha256: match[1], bytes: Number(match[2]) };
}
