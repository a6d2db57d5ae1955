/**
 * A watch of a sandbox directory over the watch WebSocket: changes as an AsyncIterable (or a callback), until
 * `close()` or the signal. Events a slow consumer has not read yet are bounded here too: past the limit they are
 * replaced by one `overflow`, as the server does for a slow connection.
 */
import type { WatchServerMessage } from '@burrow/protocol';
import { AsyncQueue } from './async-queue.js';
import { textData } from './bytes.js';
import { AbortedError, ConnectionError } from './client-errors.js';
import type { HttpClient } from './http.js';
import { socketError } from './process-attachment.js';
import { watchEventFromWire } from './process-convert.js';
import type { WatchEvent } from './types.js';
import type { SocketLike } from './websocket.js';

/** Events kept for a consumer that is not reading; more become one overflow. */
export const MAX_PENDING_WATCH_EVENTS = 10_000;

/** Options of `sandbox.files.watch()`. */
export interface WatchOptions {
  /** Watch the whole tree, not only the directory's own entries. */
  recursive?: boolean;
  /** Aborting ends the watch (iteration ends normally). */
  signal?: AbortSignal;
  /** Called with every event instead of queueing it for iteration. */
  onEvent?: (event: WatchEvent) => void;
}

/**
 * A running watch. Changes made after `sandbox.files.watch()` resolved are reported.
 *
 * @example
 * const watch = await sandbox.files.watch('/home/sandbox', { recursive: true });
 * for await (const event of watch) {
 *   if (event.type === 'event') console.log(event.kind, event.path);
 *   else console.log('missed some: re-read what matters');
 * }
 */
export class FileWatch implements AsyncIterable<WatchEvent>, AsyncDisposable {
  readonly #socket: SocketLike;
  readonly #events = new AsyncQueue<WatchEvent>();
  readonly #onEvent: ((event: WatchEvent) => void) | undefined;
  readonly #done: Promise<void>;
  #settle!: { resolve: () => void; reject: (error: unknown) => void };
  #ready!: { resolve: () => void; reject: (error: unknown) => void };
  readonly #opened: Promise<void>;
  #pending = 0;
  #overflowed = false;
  #finished = false;
  readonly #baseUrl: string;

  private constructor(socket: SocketLike, baseUrl: string, options: WatchOptions) {
    this.#socket = socket;
    this.#baseUrl = baseUrl;
    this.#onEvent = options.onEvent;
    this.#done = new Promise((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#done.catch(() => undefined);
    this.#opened = new Promise((resolve, reject) => (this.#ready = { resolve, reject }));
    this.#opened.catch(() => undefined);
    socket.addEventListener('message', (event) => this.#onMessage(event.data));
    socket.addEventListener('close', (event) => {
      if (event.code === 1000 || this.#finished) this.#end();
      else this.#fail(new ConnectionError(baseUrl, `the watch stream closed (WebSocket code ${event.code})`));
    });
    const signal = options.signal;
    if (signal !== undefined) {
      const onAbort = () => {
        this.#ready.reject(new AbortedError());
        this.close();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      void this.#done.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
    }
  }

  /** Opens the watch; resolves once the server has it in place. */
  static async open(
    http: HttpClient,
    sandboxId: string,
    path: string,
    options: WatchOptions = {},
  ): Promise<FileWatch> {
    const query = new URLSearchParams({ path });
    if (options.recursive === true) query.set('recursive', 'true');
    const url = http.wsUrl(`/api/v1/sandboxes/${encodeURIComponent(sandboxId)}/watch?${query.toString()}`);
    const socket = await http.platform.openSocket(url, {
      apiKey: http.apiKey,
      headers: http.authHeaders(),
      baseUrl: http.baseUrl,
      signal: options.signal,
    });
    const watch = new FileWatch(socket, http.baseUrl, options);
    await watch.#opened;
    return watch;
  }

  /** Resolves when the watch ends (closed, aborted, or the sandbox stopped); rejects on a failure. */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Stops watching. */
  close(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#socket.close(1000);
    this.#end();
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    if (this.#onEvent !== undefined)
      throw new Error('this watch delivers events to onEvent: iterate one opened without it');
    const inner = this.#events[Symbol.asyncIterator]();
    return {
      next: async () => {
        const result = await inner.next();
        if (result.done !== true) {
          if (result.value.type === 'event') this.#pending -= 1;
          else this.#overflowed = false;
        }
        return result;
      },
      return: async () => {
        this.close();
        return inner.return?.() ?? { value: undefined, done: true };
      },
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #deliver(event: WatchEvent): void {
    if (this.#onEvent !== undefined) {
      this.#onEvent(event);
      return;
    }
    if (event.type === 'overflow' || this.#pending >= MAX_PENDING_WATCH_EVENTS) {
      if (!this.#overflowed) this.#events.push({ type: 'overflow' });
      this.#overflowed = true;
      return;
    }
    this.#pending += 1;
    this.#events.push(event);
  }

  #onMessage(data: unknown): void {
    let message: WatchServerMessage;
    try {
      message = JSON.parse(textData(data)) as WatchServerMessage;
    } catch {
      return;
    }
    if (message.type === 'watching') this.#ready.resolve();
    else if (message.type === 'error') this.#fail(socketError(message));
    else {
      const event = watchEventFromWire(message);
      if (event !== undefined && !this.#finished) this.#deliver(event);
    }
  }

  #end(): void {
    this.#finished = true;
    this.#ready.reject(new ConnectionError(this.#baseUrl, 'the watch ended before it was in place'));
    this.#events.end();
    this.#settle.resolve();
  }

  #fail(error: Error): void {
    this.#ready.reject(error);
    if (this.#finished) return;
    this.#finished = true;
    this.#socket.close(1000);
    this.#events.fail(error);
    this.#settle.reject(error);
  }
}
