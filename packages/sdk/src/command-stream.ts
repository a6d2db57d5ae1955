/**
 * A command running in a sandbox over the exec WebSocket: its output as an AsyncIterable of events, a stdin
 * writer, signals, and the final result. The wire protocol (JSON text frames) is decoded here and nowhere else.
 */
import type { ExecStreamClientMessage, ExecStreamServerMessage } from '@burrow/protocol';
import { AsyncQueue } from './async-queue.js';
import { AbortedError, ConnectionError } from './client-errors.js';
import { errorFromCode, statusForCode } from './errors.js';
import type { HttpClient } from './http.js';
import { binaryData, textData } from './bytes.js';
import type { CommandEvent, CommandResult, PtySize } from './types.js';
import { OPEN, type SocketLike } from './websocket.js';

/** Options of `sandbox.commands.stream()`. */
export interface StreamCommandOptions {
  env?: Record<string, string>;
  /** Working directory of the command. */
  cwd?: string;
  /** The server kills the command after this long (rounded up to whole seconds); `timedOut` is then true. */
  timeoutMs?: number;
  /**
   * `true` keeps the command's stdin open for `stdin.write()` until `stdin.end()`; a string or bytes is written
   * and stdin closed. By default stdin is closed at once (a command that reads it sees EOF).
   */
  stdin?: boolean | string | Uint8Array;
  /** Aborting kills the command and rejects with `AbortedError`. */
  signal?: AbortSignal;
  /**
   * Run on a terminal of this size: stdout and stderr merged, output as raw bytes (`bytes` on each `stdout`
   * event, decoded into `data`), stdin writes passed through unchanged (`\x03` is Ctrl-C).
   */
  pty?: PtySize;
}

/**
 * Writes to a streamed command's stdin (text; bytes are decoded as UTF-8).
 *
 * @example
 * const proc = await sandbox.commands.stream(['cat'], { stdin: true });
 * proc.stdin.write('hello\n');
 * proc.stdin.end();
 */
export interface CommandStdin {
  write(data: string | Uint8Array): void;
  end(): void;
}

function toCommand(cmd: string[] | string): string[] {
  return typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
}

/**
 * A running command. Iterate it for `stdout`/`stderr` chunks and a final `exit` event, or `await wait()`.
 *
 * @example
 * const proc = await sandbox.commands.stream('for i in 1 2 3; do echo $i; sleep 1; done');
 * for await (const event of proc) {
 *   if (event.type === 'stdout') process.stdout.write(event.data);
 *   if (event.type === 'exit') console.log('exit code', event.exitCode);
 * }
 */
export class CommandStream implements AsyncIterable<CommandEvent>, AsyncDisposable {
  /** Stdin of the command; usable when the stream was opened with `stdin: true`. */
  readonly stdin: CommandStdin;
  readonly #socket: SocketLike;
  readonly #events = new AsyncQueue<CommandEvent>();
  readonly #result: Promise<CommandResult>;
  #settle!: { resolve: (result: CommandResult) => void; reject: (error: unknown) => void };
  #stdout = '';
  #stderr = '';
  #finished = false;
  #closedByUs: Error | undefined;

  readonly #pty: boolean;
  readonly #ptyDecoder = new TextDecoder();

  private constructor(
    socket: SocketLike,
    baseUrl: string,
    stdinOpen: boolean,
    signal: AbortSignal | undefined,
    pty: boolean,
  ) {
    this.#socket = socket;
    this.#pty = pty;
    socket.binaryType = 'arraybuffer';
    this.#result = new Promise<CommandResult>((resolve, reject) => (this.#settle = { resolve, reject }));
    // A rejection nobody awaits must not crash the process: wait() still hands it to whoever asks.
    this.#result.catch(() => undefined);
    const decoder = new TextDecoder();
    let stdinClosed = !stdinOpen;
    this.stdin = {
      write: (data) => {
        if (stdinClosed)
          throw new Error('stdin is closed: open the stream with { stdin: true } and write before end()');
        if (this.#pty) {
          // A terminal takes bytes as they are (keystrokes, escape sequences).
          const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
          if (bytes.length > 0) this.#sendRaw(bytes);
          return;
        }
        const text = typeof data === 'string' ? data : decoder.decode(data, { stream: true });
        if (text !== '') this.#send({ type: 'stdin', data: text });
      },
      end: () => {
        if (stdinClosed) return;
        stdinClosed = true;
        const rest = decoder.decode();
        if (rest !== '') this.#send({ type: 'stdin', data: rest });
        this.#send({ type: 'stdin_close' });
      },
    };
    socket.addEventListener('message', (event) => this.#onMessage(event.data));
    socket.addEventListener('close', (event) => {
      const reason = `exec stream closed before the command exited (WebSocket code ${event.code})`;
      this.#fail(this.#closedByUs ?? new ConnectionError(baseUrl, reason));
    });
    if (signal !== undefined) {
      const onAbort = () => {
        this.kill('SIGKILL');
        this.#closeWith(new AbortedError('the command was aborted'));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      void this.#result.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
    }
  }

  /** Opens the exec WebSocket and sends the request. */
  static async open(
    http: HttpClient,
    sandboxId: string,
    cmd: string[] | string,
    options: StreamCommandOptions = {},
  ): Promise<CommandStream> {
    const path = `/api/v1/sandboxes/${encodeURIComponent(sandboxId)}/exec/stream`;
    const socket = await http.platform.openSocket(http.wsUrl(path), {
      apiKey: http.apiKey,
      headers: http.authHeaders(),
      baseUrl: http.baseUrl,
      signal: options.signal,
    });
    const stdin = options.stdin;
    const stream = new CommandStream(
      socket,
      http.baseUrl,
      stdin !== undefined && stdin !== false,
      options.signal,
      options.pty !== undefined,
    );
    const request: Record<string, unknown> = { cmd: toCommand(cmd) };
    if (options.env !== undefined) request.env = options.env;
    if (options.cwd !== undefined) request.workdir = options.cwd;
    if (options.timeoutMs !== undefined && options.timeoutMs > 0)
      request.timeout = Math.ceil(options.timeoutMs / 1000);
    if (stdin !== undefined && stdin !== false) request.stdin = true;
    if (options.pty !== undefined) request.pty = { cols: options.pty.cols, rows: options.pty.rows };
    stream.#sendRaw(JSON.stringify(request));
    if (typeof stdin === 'string' || stdin instanceof Uint8Array) {
      stream.stdin.write(stdin);
      stream.stdin.end();
    }
    return stream;
  }

  /** Sends a signal (default `SIGKILL`) to the command. */
  kill(signal: string = 'SIGKILL'): void {
    this.#send({ type: 'signal', signal });
  }

  /** Resizes the command's terminal (streams opened with `pty`). */
  resize(size: PtySize): void {
    this.#send({ type: 'resize', cols: size.cols, rows: size.rows });
  }

  /** Closes the connection; the server stops the command. `wait()` then rejects with `AbortedError`. */
  close(): void {
    this.#closeWith(new AbortedError('the exec stream was closed before the command exited'));
  }

  /** Resolves with the exit code and the whole output once the command exits. */
  wait(): Promise<CommandResult> {
    return this.#result;
  }

  [Symbol.asyncIterator](): AsyncIterator<CommandEvent> {
    const inner = this.#events[Symbol.asyncIterator]();
    return {
      next: () => inner.next(),
      return: async () => {
        // Leaving a for-await loop early stops the command.
        if (!this.#finished) this.close();
        return inner.return?.() ?? { value: undefined, done: true };
      },
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#finished) this.close();
  }

  #closeWith(error: Error): void {
    if (this.#finished) return;
    this.#closedByUs = error;
    this.#socket.close(1000);
    this.#fail(error);
  }

  #send(message: ExecStreamClientMessage): void {
    this.#sendRaw(JSON.stringify(message));
  }

  #sendRaw(data: string | Uint8Array): void {
    if (this.#finished || this.#socket.readyState !== OPEN) return;
    this.#socket.send(data);
  }

  #onMessage(data: unknown): void {
    const bytes = binaryData(data);
    if (bytes !== undefined) {
      // Terminal output.
      if (this.#finished) return;
      const text = this.#ptyDecoder.decode(bytes, { stream: true });
      this.#stdout += text;
      this.#events.push({ type: 'stdout', data: text, bytes: bytes.slice() });
      return;
    }
    let message: ExecStreamServerMessage;
    try {
      message = JSON.parse(textData(data)) as ExecStreamServerMessage;
    } catch {
      return;
    }
    if (this.#finished) return;
    switch (message.type) {
      case 'stdout':
        this.#stdout += message.data;
        this.#events.push({ type: 'stdout', data: message.data });
        break;
      case 'stderr':
        this.#stderr += message.data;
        this.#events.push({ type: 'stderr', data: message.data });
        break;
      case 'exit': {
        const exitCode = Number.parseInt(message.data, 10);
        const timedOut = message.timed_out === true;
        this.#finished = true;
        this.#events.push({ type: 'exit', exitCode, timedOut });
        this.#events.end();
        this.#settle.resolve({
          exitCode,
          stdout: this.#stdout,
          stderr: this.#stderr,
          timedOut,
          truncated: false,
        });
        break;
      }
      case 'error': {
        const code = message.code ?? 'INTERNAL';
        this.#fail(errorFromCode({ status: statusForCode(code), code, message: message.data }));
        this.#socket.close(1000);
        break;
      }
    }
  }

  #fail(error: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#events.fail(error);
    this.#settle.reject(error);
  }
}
