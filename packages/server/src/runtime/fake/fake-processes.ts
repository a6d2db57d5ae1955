/**
 * Background processes for the in-memory runtime, with the agent's semantics (agent/PROTOCOL.md, "Processes"):
 * each process runs as one of the fake's exec streams and keeps a bounded replay buffer per output stream; readers
 * attach from now or with replay and learn how many bytes they lost; exited processes are kept (bounded count).
 */
import { BurrowError } from '@burrow/protocol';
import { AsyncQueue } from '../../util/async-queue.js';
import {
  DEFAULT_PROCESS_BUFFER_BYTES,
  MAX_EXITED_PROCESSES,
  type AttachOptions,
  type ExecOptions,
  type ExecStream,
  type ProcessAttachment,
  type ProcessEvent,
  type ProcessInfo,
  type ProcessInputOptions,
  type ProcessStartOptions,
  type PtySize,
} from '../runtime.js';
import { checkProcessOptions, newProcessId } from '../process-options.js';

/** The last `capacity` bytes of a stream, addressed by absolute offsets. */
class Ring {
  private chunks: { offset: number; data: Buffer }[] = [];
  start = 0;
  end = 0;

  constructor(private readonly capacity: number) {}

  push(data: Buffer): void {
    this.chunks.push({ offset: this.end, data });
    this.end += data.length;
    while (this.end - this.start > this.capacity) {
      const first = this.chunks[0];
      if (first === undefined) break;
      const excess = this.end - this.capacity - first.offset;
      if (excess >= first.data.length) {
        this.chunks.shift();
        this.start = first.offset + first.data.length;
      } else {
        this.chunks[0] = { offset: first.offset + excess, data: first.data.subarray(excess) };
        this.start = first.offset + excess;
      }
    }
  }

  /** Bytes from `from` on (clamped to what is kept). */
  since(from: number): Buffer {
    return Buffer.concat(
      this.chunks
        .filter((chunk) => chunk.offset + chunk.data.length > from)
        .map((chunk) => (chunk.offset >= from ? chunk.data : chunk.data.subarray(from - chunk.offset))),
    );
  }
}

interface Reader {
  queue: AsyncQueue<ProcessEvent>;
}

class FakeProcess {
  readonly readers = new Set<Reader>();
  readonly stdout: Ring;
  readonly stderr: Ring;
  exit: { exitCode: number; timedOut: boolean; endedAt: Date } | undefined;
  readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(
    readonly id: string,
    readonly pid: number,
    readonly options: ProcessStartOptions,
    readonly stream: ExecStream,
    readonly startedAt: Date,
  ) {
    const capacity = options.bufferBytes ?? DEFAULT_PROCESS_BUFFER_BYTES;
    this.stdout = new Ring(capacity);
    this.stderr = new Ring(capacity);
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  record(stream: 'stdout' | 'stderr', data: Buffer): void {
    this[stream].push(data);
    for (const reader of this.readers) reader.queue.push({ type: stream, data });
  }

  finish(exitCode: number, timedOut: boolean): void {
    this.exit = { exitCode, timedOut, endedAt: new Date() };
    for (const reader of this.readers) {
      reader.queue.push({ type: 'exit', exitCode, timedOut });
      reader.queue.end();
    }
    this.readers.clear();
    this.markExited();
  }

  info(): ProcessInfo {
    const info: ProcessInfo = {
      id: this.id,
      pid: this.pid,
      cmd: [...this.options.cmd],
      pty: this.options.pty !== undefined,
      stdin: this.options.stdin === true && this.exit === undefined,
      startedAt: this.startedAt,
      running: this.exit === undefined,
      timedOut: this.exit?.timedOut ?? false,
      // What fell out of the replay buffer (a replaying reader misses it).
      outputDropped: { stdout: this.stdout.start, stderr: this.stderr.start },
    };
    if (this.options.tag !== undefined) info.tag = this.options.tag;
    if (this.exit !== undefined) {
      info.exitCode = this.exit.exitCode;
      info.endedAt = this.exit.endedAt;
    }
    return info;
  }
}

export class FakeProcesses {
  private readonly bySandbox = new Map<string, Map<string, FakeProcess>>();
  private nextPid = 100;

  /** `exec` starts a process of the sandbox as the fake's exec stream does. */
  constructor(private readonly exec: (id: string, options: ExecOptions) => Promise<ExecStream>) {}

  private table(id: string): Map<string, FakeProcess> {
    let table = this.bySandbox.get(id);
    if (table === undefined) {
      table = new Map();
      this.bySandbox.set(id, table);
    }
    return table;
  }

  private process(id: string, processId: string): FakeProcess {
    const process = this.bySandbox.get(id)?.get(processId);
    if (process === undefined)
      throw new BurrowError('PROCESS_NOT_FOUND', `process ${processId} not found in sandbox ${id}`);
    return process;
  }

  async start(id: string, options: ProcessStartOptions): Promise<ProcessInfo> {
    checkProcessOptions(options);
    const execOptions: ExecOptions = { cmd: options.cmd, openStdin: options.stdin === true };
    if (options.env !== undefined) execOptions.env = options.env;
    if (options.workdir !== undefined) execOptions.workdir = options.workdir;
    if (options.user !== undefined) execOptions.user = options.user;
    if (options.timeoutMs !== undefined) execOptions.timeoutMs = options.timeoutMs;
    if (options.pty !== undefined) execOptions.pty = options.pty;
    const stream = await this.exec(id, execOptions);
    this.nextPid += 1;
    const process = new FakeProcess(newProcessId(), this.nextPid, options, stream, new Date());
    const table = this.table(id);
    table.set(process.id, process);
    void (async () => {
      try {
        for await (const event of stream) {
          if (event.type === 'exit') process.finish(event.exitCode, event.timedOut);
          else process.record(event.type, event.data);
        }
      } catch {
        if (process.exit === undefined) process.finish(137, false);
      }
      this.forgetOldest(table);
    })();
    return process.info();
  }

  private forgetOldest(table: Map<string, FakeProcess>): void {
    const exited = [...table.values()].filter((process) => process.exit !== undefined);
    for (const process of exited.slice(0, Math.max(0, exited.length - MAX_EXITED_PROCESSES))) {
      table.delete(process.id);
    }
  }

  list(id: string): ProcessInfo[] {
    return [...(this.bySandbox.get(id)?.values() ?? [])].map((process) => process.info());
  }

  get(id: string, processId: string): ProcessInfo {
    return this.process(id, processId).info();
  }

  attach(id: string, processId: string, options: AttachOptions = {}): ProcessAttachment {
    const process = this.process(id, processId);
    const reader: Reader = { queue: new AsyncQueue<ProcessEvent>() };
    for (const stream of ['stdout', 'stderr'] as const) {
      if (options.replay !== true) continue;
      const ring = process[stream];
      if (ring.start > 0) reader.queue.push({ type: 'dropped', stream, bytes: ring.start });
      const data = ring.since(ring.start);
      if (data.length > 0) reader.queue.push({ type: stream, data });
    }
    if (process.exit !== undefined) {
      reader.queue.push({ type: 'exit', exitCode: process.exit.exitCode, timedOut: process.exit.timedOut });
      reader.queue.end();
    } else process.readers.add(reader);
    const close = () => {
      process.readers.delete(reader);
      reader.queue.end();
      return Promise.resolve();
    };
    options.signal?.addEventListener('abort', () => void close(), { once: true });
    return {
      info: process.info(),
      [Symbol.asyncIterator]: () => reader.queue[Symbol.asyncIterator](),
      close,
    };
  }

  async wait(id: string, processId: string, timeoutMs: number, signal?: AbortSignal): Promise<ProcessInfo> {
    const process = this.process(id, processId);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      process.exited,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      }),
    ]);
    clearTimeout(timer);
    return process.info();
  }

  async input(
    id: string,
    processId: string,
    data: Uint8Array,
    options: ProcessInputOptions = {},
  ): Promise<void> {
    const process = this.process(id, processId);
    if (process.exit !== undefined || process.options.stdin !== true) {
      throw new BurrowError(
        'CONFLICT',
        // The agent's words (agent-processes.ts), so a client sees the same message on either runtime.
        process.exit === undefined
          ? 'the process does not take input: start it with stdin to send it input'
          : 'the process has exited',
      );
    }
    if (data.length > 0) await process.stream.stdin.write(data);
    if (options.eof === true) await process.stream.stdin.end();
  }

  async signal(id: string, processId: string, name: string): Promise<void> {
    const process = this.process(id, processId);
    if (process.exit === undefined) await process.stream.kill(name);
  }

  async kill(id: string, processId: string): Promise<void> {
    const process = this.process(id, processId);
    if (process.exit === undefined) await process.stream.kill('SIGKILL');
    await process.exited;
  }

  async resize(id: string, processId: string, size: PtySize): Promise<void> {
    const process = this.process(id, processId);
    if (process.options.pty === undefined) {
      throw new BurrowError('CONFLICT', 'the process has no terminal: start it with pty to resize it');
    }
    if (process.exit === undefined) await process.stream.resize(size);
  }

  /** The sandbox stopped or was removed: its processes are gone. */
  forget(id: string): void {
    for (const process of this.bySandbox.get(id)?.values() ?? []) {
      if (process.exit === undefined) process.finish(137, false);
    }
    this.bySandbox.delete(id);
  }
}
