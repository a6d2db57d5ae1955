/**
 * `sandbox.pty`: interactive terminals. A terminal is a background process on a pseudo-terminal, so it outlives
 * this client: `connect()` reattaches to it later (from here or elsewhere) with what it printed meanwhile.
 */
import type { HttpClient } from './http.js';
import type { ProcessAttachment, ProcessExit } from './process-attachment.js';
import type { StartProcessOptions } from './process-convert.js';
import type { Processes } from './processes.js';
import type { ProcessInfo, PtySize } from './types.js';

/** The login shell of the image: bash where there is one, else sh. */
export const DEFAULT_SHELL = [
  '/bin/sh',
  '-c',
  'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi',
];

/** Options of `sandbox.pty.create()`. */
export interface CreatePtyOptions extends Omit<StartProcessOptions, 'pty' | 'stdin'> {
  /** Columns and rows (default 80 × 24). */
  cols?: number;
  rows?: number;
  /** The program (default: the image's bash, else sh, as a login shell). */
  cmd?: string[];
  /** Called with the terminal's output, raw bytes (escape sequences and all). */
  onData?: (data: Uint8Array) => void;
  /** Aborting detaches (the terminal's program runs on; `kill()` ends it). */
  signal?: AbortSignal;
}

/** Options of `sandbox.pty.connect()`. */
export interface ConnectPtyOptions {
  /** Called with the terminal's output. */
  onData?: (data: Uint8Array) => void;
  /** Start with what the terminal showed so far (default true). */
  replay?: boolean;
  signal?: AbortSignal;
}

/**
 * A terminal session: the program's output through `onData` (or by iterating), keystrokes through `write()`.
 *
 * @example
 * const term = await sandbox.pty.create({ cols: 100, rows: 30, onData: (bytes) => process.stdout.write(bytes) });
 * term.write('ls -la\r');
 * term.resize({ cols: 120, rows: 40 });
 * term.write('exit\r');
 * const { exitCode } = await term.wait();
 */
export class PtySession implements AsyncIterable<Uint8Array>, AsyncDisposable {
  readonly #attachment: ProcessAttachment;
  readonly #processes: Processes;

  /** @internal */
  constructor(attachment: ProcessAttachment, processes: Processes) {
    this.#attachment = attachment;
    this.#processes = processes;
  }

  /** The process id (`proc_...`): give it to `sandbox.pty.connect()` to come back to this terminal. */
  get id(): string {
    return this.#attachment.info.id;
  }

  /** Its pid inside the sandbox. */
  get pid(): number {
    return this.#attachment.info.pid;
  }

  get info(): ProcessInfo {
    return this.#attachment.info;
  }

  /** Sends keystrokes, unchanged (`\r` is Enter, `\x03` Ctrl-C, `\x04` Ctrl-D). */
  write(data: string | Uint8Array): void {
    this.#attachment.write(data);
  }

  resize(size: PtySize): void {
    this.#attachment.resize(size);
  }

  /** Resolves with the exit code once the program exits. */
  wait(): Promise<ProcessExit> {
    return this.#attachment.wait();
  }

  /** Ends the program (and everything it started). */
  async kill(): Promise<void> {
    await this.#processes.kill(this.id);
  }

  /** Leaves the terminal running and stops receiving its output. */
  disconnect(): void {
    this.#attachment.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for await (const event of this.#attachment) {
      if (event.type === 'pty') yield event.data;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.disconnect();
  }
}

/**
 * Terminals of one sandbox.
 *
 * @example
 * const term = await sandbox.pty.create({ onData: (bytes) => process.stdout.write(bytes) });
 */
export class Pty {
  readonly #processes: Processes;

  /** @internal */
  constructor(_http: HttpClient, processes: Processes) {
    this.#processes = processes;
  }

  /**
   * Starts a program (a login shell by default) on a new terminal and attaches to it.
   *
   * @example
   * const python = await sandbox.pty.create({ cmd: ['python3', '-i'], onData: (b) => out.push(b) });
   * python.write('print(6 * 7)\r');
   */
  async create(options: CreatePtyOptions = {}): Promise<PtySession> {
    const { cols, rows, cmd, onData, signal, ...start } = options;
    const info = await this.#processes.start(cmd ?? DEFAULT_SHELL, {
      ...start,
      pty: { cols: cols ?? 80, rows: rows ?? 24 },
      stdin: true,
    });
    // Replay: whatever the program printed before the attach (a prompt) is not lost.
    return this.connect(info.id, {
      replay: true,
      ...(onData === undefined ? {} : { onData }),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /**
   * Attaches to a terminal started earlier (by `create()` or `processes.start` with `pty`).
   *
   * @example
   * const again = await sandbox.pty.connect(savedId, { onData: (b) => process.stdout.write(b) });
   */
  async connect(processId: string, options: ConnectPtyOptions = {}): Promise<PtySession> {
    const onData = options.onData;
    const attachment = await this.#processes.attach(processId, {
      replay: options.replay ?? true,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(onData === undefined
        ? {}
        : { onEvent: (event) => (event.type === 'pty' ? onData(event.data) : undefined) }),
    });
    return new PtySession(attachment, this.#processes);
  }

  /**
   * Resizes a terminal without attaching to it.
   *
   * @example
   * await sandbox.pty.resize(id, { cols: 120, rows: 40 });
   */
  resize(processId: string, size: PtySize): Promise<void> {
    return this.#processes.resize(processId, size);
  }
}
