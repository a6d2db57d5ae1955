/**
 * One reader of a background process over the attach WebSocket: its output as an AsyncIterable of events (or
 * callbacks), input, signals and resizes. Closing detaches; the process runs on. The wire protocol is decoded here
 * and nowhere else.
 */
import type { AttachClientMessage, AttachServerMessage } from '@burrow/protocol';
import { AsyncQueue } from './async-queue.js';
import { binaryData, textData } from './bytes.js';
import { AbortedError, ConnectionError } from './client-errors.js';
import { errorFromCode, statusForCode, type BurrowError } from './errors.js';
import type { HttpClient } from './http.js';
import { processFromWire } from './process-convert.js';
import type { ProcessEvent, ProcessInfo, PtySize } from './types.js';
import { OPEN, type SocketLike } from './websocket.js';

/** Options of `sandbox.processes.attach()`. */
export interface AttachOptions {
  /** Start with what the process printed so far (as far as the server's buffer holds), then live output. */
  replay?: boolean;
  /** Aborting detaches (the process runs on) and ends iteration with `AbortedError`. */
  signal?: AbortSignal;
  /**
   * Called with every event. With a callback the attachment does not also queue events for iteration (so a
   * caller that never iterates holds no memory); use `wait()` for the end.
   */
  onEvent?: (event: ProcessEvent) => void;
  /** Called when the server could not apply something sent (e.g. input to a process without stdin). */
  onRefused?: (error: BurrowError) => void;
}

/** How an attached process ended. */
export interface ProcessExit {
  exitCode: number;
  timedOut: boolean;
}

export function socketError(message: { data: string; code: string }): BurrowError {
  return errorFromCode({ status: statusForCode(message.code), code: message.code, message: message.data });
}

/**
 * An attached process.
 *
 * @example
 * const reader = await sandbox.processes.attach(proc.id, { replay: true });
 * for await (const event of reader) {
 *   if (event.type === 'stdout') process.stdout.write(event.data);
 * }
 */
export class ProcessAttachment implements AsyncIterable<ProcessEvent>, AsyncDisposable {
  readonly #socket: SocketLike;
  readonly #events = new AsyncQueue<ProcessEvent>();
  readonly #options: AttachOptions;
  readonly #exit: Promise<ProcessExit>;
  #settle!: { resolve: (exit: ProcessExit) => void; reject: (error: unknown) => void };
  #info: ProcessInfo | undefined;
  #ready!: { resolve: () => void; reject: (error: unknown) => void };
  readonly #opened: Promise<void>;
  #finished = false;
  #closedByUs: Error | undefined;

  private constructor(socket: SocketLike, baseUrl: string, options: AttachOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#exit = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#exit.catch(() => undefined);
    this.#opened = new Promise((resolve, reject) => (this.#ready = { resolve, reject }));
    this.#opened.catch(() => undefined);
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('message', (event) => this.#onMessage(event.data));
    socket.addEventListener('close', (event) => {
      const reason = `the attach stream closed before the process exited (WebSocket code ${event.code})`;
      this.#fail(this.#closedByUs ?? new ConnectionError(baseUrl, reason));
    });
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = () => this.#closeWith(new AbortedError('the attachment was aborted'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      void this.#exit.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
    }
  }

  /** Opens the attach WebSocket; resolves once the server named the process. */
  static async open(
    http: HttpClient,
    sandboxId: string,
    processId: string,
    options: AttachOptions = {},
  ): Promise<ProcessAttachment> {
    const path =
      `/api/v1/sandboxes/${encodeURIComponent(sandboxId)}/processes/` +
      `${encodeURIComponent(processId)}/attach${options.replay === true ? '?replay=true' : ''}`;
    const socket = await http.platform.openSocket(http.wsUrl(path), {
      apiKey: http.apiKey,
      headers: http.authHeaders(),
      baseUrl: http.baseUrl,
      signal: options.signal,
    });
    const attachment = new ProcessAttachment(socket, http.baseUrl, options);
    await attachment.#opened;
    return attachment;
  }

  /** The process as it was when this reader attached. */
  get info(): ProcessInfo {
    if (this.#info === undefined) throw new Error('the attachment is not open yet');
    return this.#info;
  }

  /** Writes to the process's stdin (as raw bytes; strings as UTF-8). */
  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    if (bytes.length > 0) this.#sendRaw(bytes);
  }

  /** Closes the process's stdin (on a terminal: end of file). */
  end(): void {
    this.#send({ type: 'stdin_close' });
  }

  /** Sends a signal (`SIGINT`, `SIGTERM`, ...) to the process's group. */
  kill(signal = 'SIGTERM'): void {
    this.#send({ type: 'signal', signal });
  }

  /** Resizes the process's terminal. */
  resize(size: PtySize): void {
    this.#send({ type: 'resize', cols: size.cols, rows: size.rows });
  }

  /** Resolves with the exit code once the process exits; rejects if the stream ends first. */
  wait(): Promise<ProcessExit> {
    return this.#exit;
  }

  /** Detaches this reader; the process runs on. `wait()` then rejects with `AbortedError`. */
  close(): void {
    this.#closeWith(new AbortedError('the attachment was closed before the process exited'));
  }

  [Symbol.asyncIterator](): AsyncIterator<ProcessEvent> {
    if (this.#options.onEvent !== undefined)
      throw new Error('this attachment delivers events to onEvent: iterate one opened without it');
    const inner = this.#events[Symbol.asyncIterator]();
    return {
      next: () => inner.next(),
      return: async () => {
        if (!this.#finished) this.close();
        return inner.return?.() ?? { value: undefined, done: true };
      },
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#finished) this.close();
  }

  #emit(event: ProcessEvent): void {
    if (this.#options.onEvent !== undefined) this.#options.onEvent(event);
    else this.#events.push(event);
  }

  #send(message: AttachClientMessage): void {
    this.#sendRaw(JSON.stringify(message));
  }

  #sendRaw(data: string | Uint8Array): void {
    if (this.#finished || this.#socket.readyState !== OPEN) return;
    this.#socket.send(data);
  }

  #onMessage(data: unknown): void {
    if (this.#finished) return;
    const bytes = binaryData(data);
    if (bytes !== undefined) {
      this.#emit({ type: 'pty', data: bytes.slice() });
      return;
    }
    let message: AttachServerMessage;
    try {
      message = JSON.parse(textData(data)) as AttachServerMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'process':
        this.#info = processFromWire(message.process);
        this.#ready.resolve();
        break;
      case 'stdout':
      case 'stderr':
        this.#emit({ type: message.type, data: message.data });
        break;
      case 'dropped':
        this.#emit({ type: 'dropped', stream: message.stream, bytes: message.bytes });
        break;
      case 'exit': {
        const exit = { exitCode: Number.parseInt(message.data, 10), timedOut: message.timed_out === true };
        this.#emit({ type: 'exit', ...exit });
        this.#finished = true;
        this.#events.end();
        this.#settle.resolve(exit);
        break;
      }
      case 'refused':
        this.#options.onRefused?.(socketError(message));
        break;
      case 'error':
        this.#fail(socketError(message));
        this.#socket.close(1000);
        break;
    }
  }

  #closeWith(error: Error): void {
    if (this.#finished) return;
    this.#closedByUs = error;
    this.#socket.close(1000);
    this.#fail(error);
  }

  #fail(error: Error): void {
    this.#ready.reject(error);
    if (this.#finished) return;
    this.#finished = true;
    this.#events.fail(error);
    this.#settle.reject(error);
  }
}
