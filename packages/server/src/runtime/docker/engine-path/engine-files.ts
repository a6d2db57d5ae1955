/**
 * File operations and tmpfs archives on the Engine API path: each is one `docker exec` of FILES_SCRIPT (scripts.ts)
 * as the sandbox's user, paths passed as encoded positional parameters, data streamed through stdin/stdout.
 */
import { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import { fileInfoFromStat } from '../../agent/stat-record.js';
import type { FileData, FileInfo, FileRead } from '../../runtime.js';
import { collectRawExec, startRawExec, type RawExec } from './engine-exec.js';
import type { OutputChunk } from './demux.js';
import { scriptFailure } from './script-errors.js';
import { lengthPrefixed, parseListing, statRecord } from './script-output.js';
import { encodePath, FILES_SCRIPT, SCRIPT_NAME } from './scripts.js';

/** Which sandbox, and as whom. */
export interface ExecTarget {
  container: string;
  sandbox: string;
  /** Docker `User`; empty = the container's own. */
  user: string;
}

/** The scripts' environment: byte-counting shell, English tool messages, the standard tool locations. */
const SCRIPT_ENV = ['LC_ALL=C', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

const NEWLINE = 0x0a;

function display(path: Uint8Array): string {
  return Buffer.from(path).toString('utf8');
}

function baseName(path: Buffer): Buffer {
  const slash = path.lastIndexOf(0x2f);
  return path.length === 1 || slash < 0 ? path : path.subarray(slash + 1);
}

/** Writes to the process's stdin; false when the process no longer takes input (it ended: its exit tells why). */
async function pump(raw: RawExec, chunk: Uint8Array): Promise<boolean> {
  try {
    await raw.write(chunk);
    return true;
  } catch {
    return false;
  }
}

async function* chunksOf(data: FileData): AsyncGenerator<Uint8Array> {
  if (typeof data === 'string') yield Buffer.from(data, 'utf8');
  else if (data instanceof Uint8Array) yield data;
  else yield* data;
}

export class EngineFiles {
  constructor(private readonly docker: Dockerode) {}

  private start(target: ExecTarget, args: string[], stdin = false, user = target.user): Promise<RawExec> {
    return startRawExec(this.docker, target.container, target.sandbox, {
      cmd: ['/bin/sh', '-c', FILES_SCRIPT, SCRIPT_NAME, ...args],
      env: SCRIPT_ENV,
      user,
      stdin,
    });
  }

  private async run(target: ExecTarget, args: string[], what: string, path: Buffer): Promise<Buffer> {
    const result = await collectRawExec(await this.start(target, args));
    if (result.exitCode !== 0) throw scriptFailure(result.stderr, result.exitCode, what, display(path));
    return result.stdout;
  }

  async stat(target: ExecTarget, path: Buffer): Promise<FileInfo> {
    const out = await this.run(target, ['stat', encodePath(path)], 'stat', path);
    const newline = out.indexOf(NEWLINE);
    const link = newline >= 0 && out[newline + 1] === 0x4c ? lengthPrefixed(out, newline + 1)[0] : undefined;
    return fileInfoFromStat(
      statRecord(out.subarray(0, newline).toString('latin1'), baseName(path), link),
      path,
    );
  }

  async listDir(target: ExecTarget, path: Buffer): Promise<FileInfo[]> {
    return parseListing(await this.run(target, ['list', encodePath(path)], 'listing', path), path);
  }

  async mkdir(target: ExecTarget, path: Buffer): Promise<void> {
    await this.run(target, ['mkdir', encodePath(path)], 'mkdir', path);
  }

  async remove(target: ExecTarget, path: Buffer): Promise<void> {
    await this.run(target, ['remove', encodePath(path)], 'removing', path);
  }

  async readFile(target: ExecTarget, path: Buffer): Promise<FileRead> {
    const raw = await this.start(target, ['read', encodePath(path)]);
    const output = raw.output[Symbol.asyncIterator]();
    const stderr: Buffer[] = [];
    let head = Buffer.alloc(0);
    let newline = -1;
    try {
      while (newline < 0) {
        const next = await output.next();
        if (next.done === true) {
          const exitCode = await raw.exitCode();
          throw scriptFailure(
            Buffer.concat(stderr),
            exitCode === 0 ? -1 : exitCode,
            'reading',
            display(path),
          );
        }
        if (next.value.stream === 'stderr') stderr.push(next.value.data);
        else {
          head = Buffer.concat([head, next.value.data]);
          newline = head.indexOf(NEWLINE);
        }
      }
    } catch (error) {
      raw.destroy();
      throw error;
    }
    const info = fileInfoFromStat(
      statRecord(head.subarray(0, newline).toString('latin1'), baseName(path)),
      path,
    );
    const first = head.subarray(newline + 1);
    async function* body(): AsyncGenerator<Buffer> {
      let complete = false;
      try {
        if (first.length > 0) yield first;
        for (;;) {
          const next: IteratorResult<OutputChunk> = await output.next();
          if (next.done === true) break;
          if (next.value.stream === 'stdout') yield next.value.data;
          else stderr.push(next.value.data);
        }
        const exitCode = await raw.exitCode();
        complete = true;
        if (exitCode !== 0) throw scriptFailure(Buffer.concat(stderr), exitCode, 'reading', display(path));
      } finally {
        if (!complete) raw.destroy();
      }
    }
    // Without the agent's statfs check, files under /proc and /sys (and empty ones) are read to their end.
    const pseudo = /^\/(proc|sys)(\/|$)/.test(display(path));
    return {
      info,
      sizeExact: info.size > 0 && !pseudo,
      body: Readable.from(body(), { objectMode: false, highWaterMark: 1 << 20 }),
    };
  }

  async writeFile(
    target: ExecTarget,
    path: Buffer,
    mode: number,
    data: FileData,
  ): Promise<{ bytes: number }> {
    const raw = await this.start(target, ['write', encodePath(path), (mode & 0o7777).toString(8)], true);
    const output = raw.output[Symbol.asyncIterator]();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const failure = async () => {
      const exitCode = await raw.exitCode();
      return scriptFailure(Buffer.concat(stderr), exitCode === 0 ? -1 : exitCode, 'writing', display(path));
    };
    // Phase 1: the script answers `R<len>:<temporary path>` once the target can be written.
    let temporary: Buffer | undefined;
    try {
      while (temporary === undefined) {
        const next = await output.next();
        if (next.done === true) throw await failure();
        if (next.value.stream === 'stderr') stderr.push(next.value.data);
        else {
          stdout.push(next.value.data);
          const out = Buffer.concat(stdout);
          const colon = out.indexOf(0x3a);
          const length = colon > 0 ? Number(out.subarray(1, colon).toString('latin1')) : NaN;
          if (out[0] === 0x52 && Number.isInteger(length) && out.length >= colon + 1 + length) {
            temporary = out.subarray(colon + 1, colon + 1 + length);
            stdout.splice(0, stdout.length, out.subarray(colon + 1 + length));
          }
        }
      }
    } catch (error) {
      raw.destroy();
      throw error;
    }
    // Phase 2: stream the data while draining the script's output (it may fail midway, e.g. ENOSPC).
    const drained = (async () => {
      for (;;) {
        const next = await output.next();
        if (next.done === true) return;
        (next.value.stream === 'stdout' ? stdout : stderr).push(next.value.data);
      }
    })();
    drained.catch(() => undefined);
    let sent = 0;
    let refused = false;
    try {
      for await (const chunk of chunksOf(data)) {
        if (!(await pump(raw, chunk))) {
          refused = true;
          break;
        }
        sent += chunk.length;
      }
      if (!refused) await raw.end();
    } catch (error) {
      // The caller's data failed (e.g. an upload aborted): the target stays untouched.
      raw.destroy();
      await this.discard(target, temporary);
      throw error;
    }
    if (refused) {
      // The script ended before taking all the data: its own error tells why.
      await drained.catch(() => undefined);
      await this.discard(target, temporary);
      throw await failure();
    }
    try {
      await drained;
    } catch (error) {
      await this.discard(target, temporary);
      throw error;
    }
    const exitCode = await raw.exitCode();
    const done = /Z(\d+)\n?$/.exec(Buffer.concat(stdout).toString('latin1'));
    if (exitCode !== 0 || done === null) {
      await this.discard(target, temporary);
      throw scriptFailure(Buffer.concat(stderr), exitCode === 0 ? -1 : exitCode, 'writing', display(path));
    }
    if (Number(done[1]) !== sent && temporary.length > 0) {
      await this.discard(target, temporary);
      throw new BurrowError('INTERNAL', `${display(path)}: ${sent} bytes were sent but ${done[1]} arrived`);
    }
    if (temporary.length > 0)
      await this.run(target, ['commit', encodePath(temporary), encodePath(path)], 'writing', path);
    return { bytes: sent };
  }

  /** Removes a temporary file of an unfinished write (best effort: a leftover is a hidden `.burrow-write.*`). */
  private async discard(target: ExecTarget, temporary: Buffer): Promise<void> {
    if (temporary.length === 0) return;
    await this.run(target, ['discard', encodePath(temporary)], 'cleaning up', temporary).catch(
      () => undefined,
    );
  }

  /** The tree under `path` as a tar stream (as root, to capture every file). */
  async archive(target: ExecTarget, path: Buffer): Promise<Readable> {
    const raw = await this.start(target, ['archive', encodePath(path)], false, '0');
    const stderr: Buffer[] = [];
    async function* body(): AsyncGenerator<Buffer> {
      let complete = false;
      try {
        for await (const chunk of raw.output) {
          if (chunk.stream === 'stdout') yield chunk.data;
          else stderr.push(chunk.data);
        }
        const exitCode = await raw.exitCode();
        complete = true;
        if (exitCode !== 0) throw scriptFailure(Buffer.concat(stderr), exitCode, 'archiving', display(path));
      } finally {
        if (!complete) raw.destroy();
      }
    }
    return Readable.from(body(), { objectMode: false, highWaterMark: 1 << 20 });
  }

  /** Unpacks a tar stream into `path` (as root, keeping owners and modes). */
  async unpack(target: ExecTarget, path: Buffer, archive: AsyncIterable<Uint8Array>): Promise<number> {
    const raw = await this.start(target, ['unpack', encodePath(path)], true, '0');
    const collected = collectRawExec(raw);
    collected.catch(() => undefined);
    let refused = false;
    try {
      for await (const chunk of archive) {
        if (!(await pump(raw, chunk))) {
          refused = true;
          break;
        }
      }
      if (!refused) await raw.end();
    } catch (error) {
      raw.destroy();
      throw error;
    }
    const result = await collected;
    if (result.exitCode !== 0)
      throw scriptFailure(result.stderr, result.exitCode, 'restoring', display(path));
    return 0;
  }
}
