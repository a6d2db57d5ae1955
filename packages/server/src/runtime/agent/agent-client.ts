/**
 * Client side of the burrow-agent protocol (agent/PROTOCOL.md), independent of the transport: a unix socket
 * into the sandbox, or the stdin/stdout of a `docker exec`.
 */
import { constants as osConstants } from 'node:os';
import { Readable } from 'node:stream';
import { BurrowError } from '@burrow/protocol';
import type { DirListing, ExecEvent, FileInfo, FileRead } from '../runtime.js';
import { agentFailure } from './agent-errors.js';
import {
  dataFrames,
  encodeFrame,
  FrameDecoder,
  PayloadReader,
  PayloadWriter,
  protocolError,
  type Frame,
} from './frames.js';
import { fileInfoFromStat, type StatRecord } from './stat-record.js';

/** One request's connection to the agent. */
export interface AgentChannel {
  /**
   * Sends bytes (several buffers go out together, uncopied); resolves once the transport queued them, waiting while
   * too much is queued (backpressure).
   */
  send(data: Buffer | readonly Buffer[]): Promise<void>;
  /** The agent's bytes. Ends when the agent closes its side. */
  readonly incoming: AsyncIterable<Buffer>;
  /** Closes the channel; a running exec is killed by the agent. */
  destroy(): void;
}

export type OpenChannel = () => Promise<AgentChannel>;

export interface AgentExecRequest {
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  timeoutMs: number;
  withStdin: boolean;
  /** Run on a pseudo-terminal of this size. */
  pty?: { cols: number; rows: number };
}

export interface AgentProcess {
  readonly events: AsyncIterable<ExecEvent>;
  writeStdin(data: Uint8Array): Promise<void>;
  endStdin(): Promise<void>;
  signal(signal: string): Promise<void>;
  resize(cols: number, rows: number): Promise<void>;
  destroy(): void;
}

export function signalNumber(signal: string): number {
  const name = signal.startsWith('SIG') ? signal : `SIG${signal}`;
  const value = (osConstants.signals as Record<string, number | undefined>)[name];
  if (value === undefined) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `unknown signal "${signal}": use a name such as SIGINT, SIGTERM or SIGKILL`,
    );
  }
  return value;
}

/**
 * How long the agent may take (a hostile or stuck sandbox must not hold a request forever): `callMs` for an answer
 * to a short request, `idleMs` between frames of a stream, `removeMs` for a recursive remove, `unpackMs` for the
 * answer after an archive was sent. Execs are bounded by their own timeout (exec-support.ts), not by these.
 */
export interface AgentDeadlines {
  callMs: number;
  idleMs: number;
  removeMs: number;
  unpackMs: number;
}

export const DEFAULT_DEADLINES: AgentDeadlines = {
  callMs: 60_000,
  idleMs: 120_000,
  removeMs: 600_000,
  unpackMs: 600_000,
};

/** Milliseconds for a u32 field of the protocol: never wraps (a larger value is a caller's bug, refused). */
export function checkedMs(ms: number): number {
  const value = Math.ceil(ms);
  if (!Number.isFinite(value) || value < 0 || value > 0xffffffff) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `a timeout of ${ms} ms does not fit the agent protocol (at most 49 days)`,
    );
  }
  return value;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

export class FrameReader {
  private readonly iterator: AsyncIterator<Frame>;

  constructor(
    incoming: AsyncIterable<Buffer>,
    private readonly channel: AgentChannel,
  ) {
    this.iterator = readFrames(incoming)[Symbol.asyncIterator]();
  }

  /** The next frame, within `timeoutMs` when given; an agent that closes mid-request is an error. */
  async next(timeoutMs?: number): Promise<Frame> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      if (timeoutMs === undefined) return;
      timer = setTimeout(() => {
        this.channel.destroy();
        reject(
          new BurrowError(
            'AGENT_UNREACHABLE',
            `the sandbox agent did not answer within ${seconds(timeoutMs)}`,
          ),
        );
      }, timeoutMs);
    });
    try {
      const result = await Promise.race([this.iterator.next(), expired]);
      if (result.done === true) {
        throw new BurrowError('AGENT_PROTOCOL', 'the sandbox agent closed the connection before answering');
      }
      return result.value;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function* readFrames(incoming: AsyncIterable<Buffer>): AsyncGenerator<Frame> {
  const decoder = new FrameDecoder();
  try {
    for await (const chunk of incoming) {
      for (const frame of decoder.push(chunk)) yield frame;
    }
  } catch (error) {
    if (error instanceof BurrowError) throw error;
    // The connection broke (the agent died, or the sandbox stopped): say so with a registered code.
    throw new BurrowError('AGENT_UNREACHABLE', 'the connection to the sandbox agent broke', undefined, {
      cause: error,
    });
  }
}

export function failureOf(frame: Frame, path?: string): BurrowError {
  const reader = new PayloadReader(frame.payload);
  const errno = reader.u32();
  const message = reader.bytes().toString('utf8');
  return agentFailure(errno, message, path);
}

/** An exec fails before starting only over its user or its working directory; name the directory when it is that. */
function execFailure(frame: Frame, workdir: string): BurrowError {
  const errno = new PayloadReader(frame.payload).u32();
  const aboutWorkdir = workdir !== '' && [2, 13, 20].includes(errno);
  return failureOf(frame, aboutWorkdir ? `working directory ${workdir}` : undefined);
}

export function unexpected(frame: Frame): BurrowError {
  return protocolError(`an unexpected frame (type byte ${frame.type.charCodeAt(0)})`);
}

/** A listed name is one path component: a lying agent's "../x" or "a/b" is not passed on. */
function isEntryName(name: Buffer): boolean {
  if (name.length === 0 || name.includes(0x2f) || name.includes(0)) return false;
  return !(name.length <= 2 && name.every((byte) => byte === 0x2e));
}

/** Read answer flag: the file's reported size is not its content's length. */
const READ_SIZE_UNKNOWN = 1;

function readStat(frame: Frame): StatRecord {
  return readStatFrom(new PayloadReader(frame.payload));
}

function readStatFrom(reader: PayloadReader): StatRecord {
  return {
    mode: reader.u32(),
    size: reader.u64(),
    mtimeSec: reader.i64(),
    mtimeNsec: reader.u32(),
    name: reader.bytes(),
    linkTarget: reader.bytes(),
  };
}

function displayPath(path: Uint8Array): string {
  return Buffer.from(path).toString('utf8');
}

async function* chunksOf(data: Uint8Array | string | AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  if (typeof data === 'string') yield Buffer.from(data, 'utf8');
  else if (data instanceof Uint8Array) yield data;
  else yield* data;
}

export class AgentClient {
  constructor(
    private readonly open: OpenChannel,
    private readonly deadlines: AgentDeadlines = DEFAULT_DEADLINES,
  ) {}

  /**
   * Sends a request's first frame on a fresh channel. An idle connection can die just as it is taken (the agent
   * restarted): when the send itself fails nothing was requested yet, so it is retried on another connection.
   */
  async request(
    type: string,
    user: string,
    rest?: (writer: PayloadWriter) => void,
  ): Promise<{ channel: AgentChannel; reader: FrameReader }> {
    const writer = new PayloadWriter().string(user);
    rest?.(writer);
    const frame = encodeFrame(type, writer.toBuffer());
    for (let attempt = 1; ; attempt += 1) {
      const channel = await this.open();
      try {
        await channel.send(frame);
        return { channel, reader: new FrameReader(channel.incoming, channel) };
      } catch (error) {
        channel.destroy();
        if (attempt >= 3) {
          throw new BurrowError('AGENT_UNREACHABLE', 'the connection to the sandbox agent broke', undefined, {
            cause: error,
          });
        }
      }
    }
  }

  async ping(): Promise<string> {
    const { channel, reader } = await this.request('P', '');
    try {
      const frame = await reader.next(this.deadlines.callMs);
      if (frame.type !== 'p') throw unexpected(frame);
      return new PayloadReader(frame.payload).bytes().toString('utf8');
    } finally {
      channel.destroy();
    }
  }

  async exec(request: AgentExecRequest): Promise<AgentProcess> {
    const { channel, reader } = await this.request('X', request.user, (writer) =>
      writer
        .strings(request.cmd)
        .strings(request.env)
        .string(request.workdir)
        .u32(checkedMs(request.timeoutMs))
        .u32((request.withStdin ? 1 : 0) | (request.pty === undefined ? 0 : 2))
        .u32(request.pty?.cols ?? 0)
        .u32(request.pty?.rows ?? 0),
    );
    async function* events(): AsyncGenerator<ExecEvent> {
      try {
        for (;;) {
          const frame = await reader.next();
          if (frame.type === 'o') yield { type: 'stdout', data: frame.payload };
          else if (frame.type === 'r') yield { type: 'stderr', data: frame.payload };
          else if (frame.type === 'x') {
            const payload = new PayloadReader(frame.payload);
            const exitCode = payload.i32();
            const flags = payload.u32();
            yield { type: 'exit', exitCode, timedOut: (flags & 1) !== 0 };
            return;
          } else if (frame.type === 'f') throw execFailure(frame, request.workdir);
          else throw unexpected(frame);
        }
      } finally {
        channel.destroy();
      }
    }
    return {
      events: events(),
      writeStdin: (data) => channel.send(encodeFrames('i', data)),
      endStdin: () => channel.send(encodeFrame('e')),
      signal: (signal) =>
        channel.send(encodeFrame('k', new PayloadWriter().u32(signalNumber(signal)).toBuffer())),
      // A terminal that is already gone has no size to change: a resize racing the exit is not an error.
      resize: (cols, rows) =>
        channel
          .send(encodeFrame('w', new PayloadWriter().u32(cols).u32(rows).toBuffer()))
          .catch(() => undefined),
      destroy: () => channel.destroy(),
    };
  }

  async readFile(user: string, path: Uint8Array): Promise<FileRead> {
    const { channel, reader } = await this.request('R', user, (writer) => writer.string(path));
    let first: Frame;
    try {
      first = await reader.next(this.deadlines.callMs);
    } catch (error) {
      channel.destroy();
      throw error;
    }
    if (first.type === 'f') {
      channel.destroy();
      throw failureOf(first, displayPath(path));
    }
    if (first.type !== 'm') {
      channel.destroy();
      throw unexpected(first);
    }
    const payload = new PayloadReader(first.payload);
    const info = fileInfoFromStat(readStatFrom(payload), path);
    // Flags after the stat record (bit 0: the size is not the content's); an agent that sends none is trusted less.
    const flags = payload.remaining >= 4 ? payload.u32() : READ_SIZE_UNKNOWN;
    return {
      info,
      sizeExact: (flags & READ_SIZE_UNKNOWN) === 0,
      body: dataBody(reader, channel, path, this.deadlines.idleMs),
    };
  }

  async writeFile(
    user: string,
    path: Uint8Array,
    mode: number,
    data: Uint8Array | string | AsyncIterable<Uint8Array>,
  ) {
    const { channel, reader } = await this.request('W', user, (writer) => writer.string(path).u32(mode));
    try {
      await this.expectDone(reader, path, this.deadlines.callMs);
      await sendData(channel, chunksOf(data));
      await channel.send(encodeFrame('z'));
      return { bytes: await this.expectDone(reader, path, this.deadlines.callMs) };
    } finally {
      channel.destroy();
    }
  }

  async unpack(path: Uint8Array, archive: AsyncIterable<Uint8Array>): Promise<number> {
    const { channel, reader } = await this.request('U', '0', (writer) => writer.string(path));
    try {
      await sendData(channel, archive);
      await channel.send(encodeFrame('z'));
      return await this.expectDone(reader, path, this.deadlines.unpackMs);
    } finally {
      channel.destroy();
    }
  }

  async archive(path: Uint8Array): Promise<Readable> {
    const { channel, reader } = await this.request('A', '0', (writer) => writer.string(path));
    return dataBody(reader, channel, path, this.deadlines.idleMs);
  }

  /** At most `maxEntries` entries: past that the agent is cut off (the rest is never read into memory). */
  async list(user: string, path: Uint8Array, maxEntries: number): Promise<DirListing> {
    const { channel, reader } = await this.request('L', user, (writer) => writer.string(path));
    try {
      const entries: FileInfo[] = [];
      for (;;) {
        const frame = await reader.next(this.deadlines.idleMs);
        if (frame.type === 'm') {
          if (entries.length >= maxEntries) return { entries, truncated: true };
          const record = readStat(frame);
          if (isEntryName(record.name)) entries.push(fileInfoFromStat(record, joinPath(path, record.name)));
        } else if (frame.type === 'z') return { entries, truncated: false };
        else if (frame.type === 'f') throw failureOf(frame, displayPath(path));
        else throw unexpected(frame);
      }
    } finally {
      channel.destroy();
    }
  }

  async stat(user: string, path: Uint8Array): Promise<FileInfo> {
    const { channel, reader } = await this.request('S', user, (writer) => writer.string(path));
    try {
      const frame = await reader.next(this.deadlines.callMs);
      if (frame.type === 'f') throw failureOf(frame, displayPath(path));
      if (frame.type !== 'm') throw unexpected(frame);
      const info = fileInfoFromStat(readStat(frame), path);
      await this.expectDone(reader, path, this.deadlines.callMs);
      return info;
    } finally {
      channel.destroy();
    }
  }

  async mkdir(user: string, path: Uint8Array): Promise<void> {
    await this.simple('M', user, path, this.deadlines.callMs);
  }

  async remove(user: string, path: Uint8Array): Promise<void> {
    await this.simple('D', user, path, this.deadlines.removeMs);
  }

  private async simple(type: string, user: string, path: Uint8Array, timeoutMs: number): Promise<number> {
    const { channel, reader } = await this.request(type, user, (writer) => writer.string(path));
    try {
      return await this.expectDone(reader, path, timeoutMs);
    } finally {
      channel.destroy();
    }
  }

  private async expectDone(reader: FrameReader, path: Uint8Array, timeoutMs: number): Promise<number> {
    const frame = await reader.next(timeoutMs);
    if (frame.type === 'z') return frame.payload.length >= 8 ? new PayloadReader(frame.payload).u64() : 0;
    if (frame.type === 'f') throw failureOf(frame, displayPath(path));
    throw unexpected(frame);
  }
}

/** Batch size of `d` frames: small incoming chunks (HTTP bodies arrive in ~64 KiB pieces) are coalesced. */
const DATA_BATCH = 512 * 1024;

/** Sends `data` as `d` frames of up to DATA_BATCH bytes, one copy per frame and one await per frame. */
async function sendData(channel: AgentChannel, data: AsyncIterable<Uint8Array>): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // A frame is its header and the chunks as they came, written together without a copy: copying 100 MB into
  // batches cost time and, as garbage, collector passes.
  const flush = async () => {
    if (pendingBytes === 0) return;
    const header = Buffer.allocUnsafe(5);
    header.write('d', 0, 1, 'latin1');
    header.writeUInt32BE(pendingBytes, 1);
    const parts = [header, ...pending];
    pending = [];
    pendingBytes = 0;
    await channel.send(parts);
  };
  for await (const chunk of data) {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (bytes.length >= DATA_BATCH) {
      await flush();
      for (const frame of dataFrames('d', bytes)) await channel.send(frame);
      continue;
    }
    if (pendingBytes + bytes.length > DATA_BATCH) await flush();
    pending.push(bytes);
    pendingBytes += bytes.length;
  }
  await flush();
}

function encodeFrames(type: string, data: Uint8Array): Buffer {
  return Buffer.concat([...dataFrames(type, data)]);
}

export function joinPath(directory: Uint8Array, name: Uint8Array): Buffer {
  const dir = Buffer.from(directory);
  const separator = dir.length > 0 && dir[dir.length - 1] === 0x2f ? [] : [Buffer.from('/')];
  return Buffer.concat([dir, ...separator, Buffer.from(name)]);
}

/** A Readable of the `d` frames that follow, ending at `z` and failing at `f`. */
function dataBody(reader: FrameReader, channel: AgentChannel, path: Uint8Array, idleMs: number): Readable {
  async function* body(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const frame = await reader.next(idleMs);
        if (frame.type === 'd') yield frame.payload;
        else if (frame.type === 'z') return;
        else if (frame.type === 'f') throw failureOf(frame, displayPath(path));
        else throw unexpected(frame);
      }
    } finally {
      channel.destroy();
    }
  }
  return Readable.from(body(), { objectMode: false, highWaterMark: 1 << 20 });
}
