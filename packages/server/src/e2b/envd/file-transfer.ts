/**
 * File bodies in and out of a sandbox for envd's /files: as the image's user through the runtime's file calls,
 * as any other user through `cat` / `dd` run as that user (paths are arguments, never shell text). Every body is
 * bounded by the server's file size limit.
 */
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { BurrowError } from '@burrow/protocol';
import type { Engine } from '../../engine/engine.js';
import type { ExecEvent } from '../../runtime/runtime.js';
import { runFileCommand } from './filesystem-service.js';

const MAX_STDERR_BYTES = 4096;

export function fileTooLarge(max: number): BurrowError {
  return new BurrowError('PAYLOAD_TOO_LARGE', `the file is larger than this server's limit of ${max} bytes`);
}

/** Passes chunks on until more than `max` bytes came, then fails (the write then keeps nothing). */
export async function* limitBytes(
  source: AsyncIterable<Uint8Array>,
  max: number,
  onExceeded: () => void = () => undefined,
): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > max) {
      onExceeded();
      throw fileTooLarge(max);
    }
    yield chunk;
  }
}

export interface OutgoingFile {
  body: Readable;
  /** Known when the runtime measured it. */
  size?: number;
}

function stderrError(path: string, stderr: string): BurrowError {
  const text = stderr.trim().split('\n')[0]?.slice(0, 500) ?? '';
  if (/no such file/i.test(text))
    return new BurrowError('FILE_NOT_FOUND', `${path}: no such file or directory`);
  if (/is a directory/i.test(text))
    return new BurrowError('IS_A_DIRECTORY', `${path}: is a directory: read a file`);
  if (/permission denied/i.test(text))
    return new BurrowError('PERMISSION_DENIED', `${path}: permission denied`);
  return new BurrowError('BAD_REQUEST', `reading ${path} failed${text === '' ? '' : `: ${text}`}`);
}

/** A file's bytes, read as `user` (the image's user when undefined). */
export async function readAs(
  engine: Engine,
  sandboxId: string,
  path: string,
  user: string | undefined,
  maxBytes: number,
): Promise<OutgoingFile> {
  if (user === undefined) {
    const file = await engine.readFile(sandboxId, path);
    if (file.info.size > maxBytes) {
      file.body.destroy();
      throw fileTooLarge(maxBytes);
    }
    return file.sizeExact
      ? { body: file.body, size: file.info.size }
      : { body: Readable.from(limitBytes(file.body, maxBytes)) };
  }
  const stream = await engine.execStream(sandboxId, { cmd: ['cat', '--', path], user, timeoutMs: 3_600_000 });
  const iterator = stream[Symbol.asyncIterator]();
  // Headers wait for the first bytes (or the exit), so a file that cannot be read is a proper error status.
  let stderr = '';
  let first: ExecEvent | undefined;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) break;
    if (next.value.type === 'stderr') {
      if (stderr.length < MAX_STDERR_BYTES) stderr += next.value.data.toString('utf8');
      continue;
    }
    first = next.value;
    break;
  }
  if (first === undefined || first.type === 'exit') {
    if (first?.exitCode === 0) return { body: Readable.from([]), size: 0 };
    throw stderrError(path, stderr);
  }
  const opening = first;
  async function* rest(): AsyncGenerator<Uint8Array> {
    let total = 0;
    try {
      for (let event: ExecEvent | undefined = opening; event !== undefined;) {
        if (event.type === 'stdout') {
          total += event.data.length;
          if (total > maxBytes) throw fileTooLarge(maxBytes);
          yield event.data;
        } else if (event.type === 'exit' && event.exitCode !== 0) {
          throw stderrError(path, stderr);
        }
        const next = await iterator.next();
        event = next.done === true ? undefined : next.value;
      }
    } finally {
      await stream.close().catch(() => undefined);
    }
  }
  return { body: Readable.from(rest()) };
}

/** Writes `data` to `path` as `user`, creating missing parents; returns the bytes written. */
export async function writeAs(
  engine: Engine,
  sandboxId: string,
  path: string,
  user: string | undefined,
  data: AsyncIterable<Uint8Array>,
  signal?: AbortSignal,
): Promise<number> {
  if (user === undefined) {
    return (await engine.writeFile(sandboxId, path, data, signal === undefined ? {} : { signal })).bytes;
  }
  await runFileCommand(
    engine,
    sandboxId,
    ['mkdir', '-p', '--', posix.dirname(path)],
    user,
    `mkdir ${posix.dirname(path)}`,
  );
  let bytes = 0;
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of data) {
      bytes += chunk.length;
      yield chunk;
    }
  }
  // dd takes the path as one argument (`of=...` splits at the first `=` only) and writes what stdin brings.
  const result = await engine.exec(sandboxId, {
    cmd: ['dd', `of=${path}`, 'bs=65536'],
    user,
    stdin: counted(),
    timeoutMs: 3_600_000,
    ...(signal === undefined ? {} : { signal }),
  });
  if (result.exitCode !== 0) {
    const text = result.stderr.toString('utf8').trim().split('\n')[0]?.slice(0, 500) ?? '';
    if (/permission denied/i.test(text))
      throw new BurrowError('PERMISSION_DENIED', `${path}: permission denied`);
    if (/is a directory/i.test(text))
      throw new BurrowError('IS_A_DIRECTORY', `${path}: is a directory: write a file`);
    throw new BurrowError('BAD_REQUEST', `writing ${path} failed${text === '' ? '' : `: ${text}`}`);
  }
  return bytes;
}
