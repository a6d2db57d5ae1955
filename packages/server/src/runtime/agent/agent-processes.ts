/**
 * Client side of the agent's background processes, watches and connections (agent/PROTOCOL.md, "Processes",
 * "Watch", "Connect"). The agent's init process keeps the processes, so they outlive a request, its client and a
 * server restart. Everything the agent reports is checked and bounded before it is passed on.
 */
import { BurrowError } from '@burrow/protocol';
import type {
  ProcessEvent,
  ProcessInfo,
  ProcessStartOptions,
  PtySize,
  WatchEvent,
  WatchEventKind,
} from '../runtime.js';
import { checkedMs, failureOf, unexpected, type AgentClient, type AgentDeadlines } from './agent-client.js';
import { cleanAgentText } from './agent-errors.js';
import type { PayloadWriter } from './frames.js';
import { PayloadReader, protocolError, type Frame } from './frames.js';

/** Flags of a process record (`q`). */
const RUNNING = 1;
const PTY = 2;
const STDIN = 4;
const TIMED_OUT = 8;

/** Most process records a listing passes on (the agent keeps 64 exited ones plus the running, pids-limited). */
const MAX_LISTED = 4096;
/** Most argv entries and bytes per entry kept of a record (display only: the agent ran what the server sent). */
const MAX_ARGV = 256;
const MAX_ARG_BYTES = 4096;
/** Largest input chunk per request; more is split across requests. */
const INPUT_CHUNK = 512 * 1024;
const PROCESS_ID = /^proc_[0-9a-f]{1,32}$/;

const WATCH_KINDS: Record<number, WatchEventKind | 'overflow'> = {
  1: 'create',
  2: 'write',
  3: 'remove',
  4: 'rename',
  5: 'chmod',
  6: 'overflow',
};

/** A time in ms since the epoch as the sandbox reported it; nonsense becomes "now" rather than an invalid Date. */
function dateOf(ms: number): Date {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) || ms < 0 || ms > 8.64e15 ? new Date() : date;
}

export function readProcessRecord(frame: Frame): ProcessInfo {
  if (frame.type !== 'q') throw unexpected(frame);
  const reader = new PayloadReader(frame.payload);
  const id = reader.bytes().toString('latin1');
  if (!PROCESS_ID.test(id)) throw protocolError('a process record with a malformed id');
  const tag = reader.bytes();
  const pid = reader.u32();
  const flags = reader.u32();
  const exitCode = reader.i32();
  const startedMs = reader.u64();
  const endedMs = reader.u64();
  const droppedStdout = reader.u64();
  const droppedStderr = reader.u64();
  const argc = reader.u32();
  const cmd: string[] = [];
  for (let i = 0; i < argc; i += 1) {
    const arg = reader.bytes();
    if (i < MAX_ARGV) cmd.push(arg.subarray(0, MAX_ARG_BYTES).toString('utf8'));
  }
  const running = (flags & RUNNING) !== 0;
  const info: ProcessInfo = {
    id,
    pid,
    cmd,
    pty: (flags & PTY) !== 0,
    stdin: (flags & STDIN) !== 0,
    startedAt: dateOf(startedMs),
    running,
    timedOut: (flags & TIMED_OUT) !== 0,
    outputDropped: { stdout: droppedStdout, stderr: droppedStderr },
  };
  if (tag.length > 0) info.tag = cleanAgentText(tag.toString('utf8'), 256);
  if (!running) {
    info.exitCode = exitCode;
    info.endedAt = dateOf(endedMs);
  }
  return info;
}

export interface AgentAttachment {
  info: ProcessInfo;
  events: AsyncIterable<ProcessEvent>;
  close(): void;
}

export interface AgentWatch {
  events: AsyncIterable<WatchEvent>;
  close(): void;
}

export class AgentProcessClient {
  constructor(
    private readonly client: AgentClient,
    private readonly deadlines: AgentDeadlines,
  ) {}

  /** Sends a request and reads its records (`q`) up to the final `z`. */
  private async records(
    type: string,
    user: string,
    rest?: (writer: PayloadWriter) => void,
    failure: (frame: Frame) => BurrowError = processFailure,
  ) {
    const { channel, reader } = await this.client.request(type, user, rest);
    try {
      const records: ProcessInfo[] = [];
      for (;;) {
        const frame = await reader.next(this.deadlines.callMs);
        if (frame.type === 'q') {
          if (records.length < MAX_LISTED) records.push(readProcessRecord(frame));
        } else if (frame.type === 'z') return records;
        else if (frame.type === 'f') throw failure(frame);
        else throw unexpected(frame);
      }
    } finally {
      channel.destroy();
    }
  }

  private async one(
    type: string,
    rest: (writer: PayloadWriter) => void,
    user = '',
    failure: (frame: Frame) => BurrowError = processFailure,
  ): Promise<ProcessInfo> {
    const [record] = await this.records(type, user, rest, failure);
    if (record === undefined) throw protocolError('no process record where one was due');
    return record;
  }

  private async done(type: string, rest: (writer: PayloadWriter) => void): Promise<void> {
    const { channel, reader } = await this.client.request(type, '', rest);
    try {
      const frame = await reader.next(this.deadlines.callMs);
      if (frame.type === 'f') throw processFailure(frame);
      if (frame.type !== 'z') throw unexpected(frame);
    } finally {
      channel.destroy();
    }
  }

  start(id: string, user: string, env: string[], options: ProcessStartOptions, bufferBytes: number) {
    return this.one(
      'B',
      (writer) =>
        writer
          .string(id)
          .string(options.tag ?? '')
          .strings(options.cmd)
          .strings(env)
          .string(options.workdir ?? '')
          .u32(checkedMs(options.timeoutMs ?? 0))
          .u32((options.stdin === true ? 1 : 0) | (options.pty === undefined ? 0 : 2))
          .u32(options.pty?.cols ?? 0)
          .u32(options.pty?.rows ?? 0)
          .u32(bufferBytes),
      user,
      // A start fails over its user or working directory, never over a process id.
      (frame) =>
        failureOf(frame, options.workdir === undefined ? undefined : `working directory ${options.workdir}`),
    );
  }

  list(): Promise<ProcessInfo[]> {
    return this.records('J', '');
  }

  get(processId: string): Promise<ProcessInfo> {
    return this.one('G', (writer) => writer.string(processId));
  }

  async attach(processId: string, replay: boolean): Promise<AgentAttachment> {
    const { channel, reader } = await this.client.request('T', '', (writer) =>
      writer.string(processId).u32(replay ? 1 : 0),
    );
    let info: ProcessInfo;
    try {
      const first = await reader.next(this.deadlines.callMs);
      if (first.type === 'f') throw processFailure(first);
      info = readProcessRecord(first);
    } catch (error) {
      channel.destroy();
      throw error;
    }
    async function* events(): AsyncGenerator<ProcessEvent> {
      try {
        // No deadline between frames: a process may be silent for hours; the reader closes when it is done.
        for (;;) {
          const frame = await reader.next();
          if (frame.type === 'o') yield { type: 'stdout', data: frame.payload };
          else if (frame.type === 'r') yield { type: 'stderr', data: frame.payload };
          else if (frame.type === 'y') {
            const payload = new PayloadReader(frame.payload);
            const stream = payload.u32() === 2 ? 'stderr' : 'stdout';
            yield { type: 'dropped', stream, bytes: payload.u64() };
          } else if (frame.type === 'x') {
            const payload = new PayloadReader(frame.payload);
            const exitCode = payload.i32();
            const flags = payload.u32();
            yield { type: 'exit', exitCode, timedOut: (flags & 1) !== 0 };
            return;
          } else if (frame.type === 'f') throw processFailure(frame);
          else throw unexpected(frame);
        }
      } finally {
        channel.destroy();
      }
    }
    return { info, events: events(), close: () => channel.destroy() };
  }

  /** The record once the process exited, or undefined when `timeoutMs` passed first. */
  async wait(processId: string, timeoutMs: number, signal?: AbortSignal): Promise<ProcessInfo | undefined> {
    const { channel, reader } = await this.client.request('Q', '', (writer) => writer.string(processId));
    const abort = () => channel.destroy();
    signal?.addEventListener('abort', abort, { once: true });
    try {
      const frame = await reader.next(timeoutMs);
      if (frame.type === 'f') throw processFailure(frame);
      return readProcessRecord(frame);
    } catch (error) {
      if (error instanceof BurrowError && error.code === 'AGENT_UNREACHABLE') return undefined;
      if (signal?.aborted === true) return undefined;
      throw error;
    } finally {
      signal?.removeEventListener('abort', abort);
      channel.destroy();
    }
  }

  async input(processId: string, data: Uint8Array, eof: boolean): Promise<void> {
    let offset = 0;
    do {
      const chunk = data.subarray(offset, offset + INPUT_CHUNK);
      offset += chunk.length;
      const last = offset >= data.length;
      await this.done('I', (writer) =>
        writer
          .string(processId)
          .string(chunk)
          .u32(last && eof ? 1 : 0),
      );
    } while (offset < data.length);
  }

  signal(processId: string, signo: number, tree: boolean): Promise<void> {
    return this.done('K', (writer) =>
      writer
        .string(processId)
        .u32(signo)
        .u32(tree ? 1 : 0),
    );
  }

  resize(processId: string, size: PtySize): Promise<void> {
    return this.done('Y', (writer) => writer.string(processId).u32(size.cols).u32(size.rows));
  }

  async watch(path: Buffer, recursive: boolean): Promise<AgentWatch> {
    const { channel, reader } = await this.client.request('V', '', (writer) =>
      writer.string(path).u32(recursive ? 1 : 0),
    );
    try {
      const first = await reader.next(this.deadlines.callMs);
      if (first.type === 'f') throw failureOf(first, path.toString('utf8'));
      if (first.type !== 'z') throw unexpected(first);
    } catch (error) {
      channel.destroy();
      throw error;
    }
    const root = path.length > 1 && path[path.length - 1] === 0x2f ? path.subarray(0, -1) : path;
    async function* events(): AsyncGenerator<WatchEvent> {
      try {
        for (;;) {
          const frame = await reader.next();
          if (frame.type === 'f') throw failureOf(frame, path.toString('utf8'));
          if (frame.type !== 'v') throw unexpected(frame);
          const payload = new PayloadReader(frame.payload);
          const kind = WATCH_KINDS[payload.u32()];
          const flags = payload.u32();
          const eventPath = payload.bytes();
          if (kind === undefined) throw protocolError('a watch event of an unknown kind');
          if (kind === 'overflow') {
            yield { type: 'overflow' };
            continue;
          }
          // A path outside the watched tree, or with NUL, is not something inotify reported: drop it.
          if (!isUnder(eventPath, root) || eventPath.includes(0)) continue;
          yield { type: 'event', kind, path: Buffer.from(eventPath), isDir: (flags & 1) !== 0 };
        }
      } finally {
        channel.destroy();
      }
    }
    return { events: events(), close: () => channel.destroy() };
  }

  /** A TCP connection from inside the sandbox's network namespace to `host:port` (see PROTOCOL.md, "Connect"). */
  async connect(host: string, port: number) {
    const { channel, reader } = await this.client.request('N', '', (writer) => writer.string(host).u32(port));
    try {
      const first = await reader.next(this.deadlines.callMs);
      if (first.type === 'f') throw connectFailure(first, host, port);
      if (first.type !== 'z') throw unexpected(first);
    } catch (error) {
      channel.destroy();
      throw error;
    }
    return { channel, reader };
  }
}

/** ECONNREFUSED: nothing listens there, which a proxy answers as a 502 that says so. */
function connectFailure(frame: Frame, host: string, port: number): BurrowError {
  const errno = new PayloadReader(frame.payload).u32();
  if (errno === 111) {
    return new BurrowError(
      'PORT_NOT_LISTENING',
      `nothing listens on port ${port} in the sandbox${host === '127.0.0.1' ? '' : ` at ${host}`}: start a server there first`,
      { port },
    );
  }
  return failureOf(frame, `connecting to ${host}:${port}`);
}

function isUnder(path: Buffer, root: Buffer): boolean {
  if (root.length === 1 && root[0] === 0x2f) return path.length > 1 && path[0] === 0x2f;
  return (
    path.length > root.length && path.subarray(0, root.length).equals(root) && path[root.length] === 0x2f
  );
}

/** What the process manager's errnos mean for a caller. */
const PROCESS_ERRORS: Record<number, string> = {
  9: 'the process does not take input: start it with stdin to send it input', // EBADF
  11: 'the process is not reading its input: 4 MiB are already waiting', // EAGAIN
  25: 'the process has no terminal: start it with pty to resize it', // ENOTTY
  32: 'the process has exited', // EPIPE
};

/** A failed process request; ENOENT names a process that is not (or no longer) there. */
function processFailure(frame: Frame): BurrowError {
  const errno = new PayloadReader(frame.payload).u32();
  if (errno === 2) {
    return new BurrowError(
      'PROCESS_NOT_FOUND',
      'no such process in this sandbox (it may have been forgotten: a sandbox keeps its last 64 exited processes)',
    );
  }
  const conflict = PROCESS_ERRORS[errno];
  return conflict === undefined ? failureOf(frame) : new BurrowError('CONFLICT', conflict, { errno });
}
