/**
 * The one place that talks HTTP: base URL and auth header, deadlines and cancellation, and turning every failure
 * into a typed error (server failures via their `code`, local ones as connection/abort/timeout errors).
 */
import { AbortedError, ConnectionError, TimeoutError, networkReason } from './client-errors.js';
import { BurrowError, errorFromBody } from './errors.js';
import type { Platform } from './platform.js';
import { webPlatform } from './platform-web.js';

export type FetchFn = typeof globalThis.fetch;

/** What fetch accepts as a request body (the DOM lib's BodyInit, which Node's types do not declare globally). */
export type RequestBody = NonNullable<RequestInit['body']>;

export interface HttpOptions {
  url: string;
  apiKey?: string | undefined;
  fetch?: FetchFn | undefined;
  /** Deadline for ordinary requests; 0 disables it. */
  timeoutMs: number;
  /** WebSockets, local files and upload progress; default the web platform (global WebSocket). */
  platform?: Platform | undefined;
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  json?: unknown;
  body?: RequestBody;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** Overrides the client's deadline for this call; 0 disables it. */
  timeoutMs?: number;
  /** Keep the deadline only until the headers arrive (for responses streamed to the caller). */
  streamResponse?: boolean;
  /** Sends this one request with another fetch (e.g. one reporting upload progress). */
  fetch?: FetchFn;
}

/** Merges an optional caller signal with a deadline; `clear()` stops the deadline. */
function deadline(signal: AbortSignal | undefined, timeoutMs: number) {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted === true) controller.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  const timer: ReturnType<typeof setTimeout> | undefined =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, timeoutMs)
      : undefined;
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    /** Ends the deadline but keeps the caller's signal connected (for bodies read later). */
    stopTimer: () => clearTimeout(timer),
    clear: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

/** Rejects when the signal aborts. */
function abortion(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fire = () =>
      reject(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
    if (signal.aborted) fire();
    else signal.addEventListener('abort', fire, { once: true });
  });
}

export class HttpClient {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  readonly timeoutMs: number;
  readonly platform: Platform;
  readonly #fetch: FetchFn;

  constructor(options: HttpOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.apiKey = options.apiKey === '' ? undefined : options.apiKey;
    this.timeoutMs = options.timeoutMs;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.platform = options.platform ?? webPlatform({ fetch: this.#fetch });
  }

  /** Headers every call carries (the API key, when there is one). */
  authHeaders(): Record<string, string> {
    return this.apiKey === undefined ? {} : { 'X-API-Key': this.apiKey };
  }

  url(path: string, query?: Record<string, string | undefined>): string {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(key, value);
    const suffix = search.size > 0 ? `?${search.toString()}` : '';
    return `${this.baseUrl}${path}${suffix}`;
  }

  /** The ws:// or wss:// URL of a path. */
  wsUrl(path: string): string {
    return this.url(path).replace(/^http/, 'ws');
  }

  /**
   * Sends a request and hands a 2xx response to `read`, all under one deadline; a non-2xx response becomes a typed
   * error. With `streamResponse` the deadline ends when the headers arrive and `read` may keep the body.
   */
  async exchange<T>(
    method: string,
    path: string,
    options: RequestOptions,
    read: (response: Response) => Promise<T>,
  ): Promise<T> {
    const headers: Record<string, string> = { ...this.authHeaders(), ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const timer = deadline(options.signal, timeoutMs);
    const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: timer.signal };
    if (body !== undefined) init.body = body;
    // Streamed request bodies need half-duplex mode in fetch.
    if (body instanceof ReadableStream) init.duplex = 'half';
    try {
      // Racing the abort keeps deadlines working even with a fetch implementation that ignores signals.
      const response = await Promise.race([
        (options.fetch ?? this.#fetch)(this.url(path, options.query), init),
        abortion(timer.signal),
      ]);
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        throw errorFromBody(response.status, text, response.headers.get('retry-after'), response.statusText);
      }
      if (options.streamResponse === true) {
        timer.stopTimer();
        return await read(response);
      }
      const result = await read(response);
      timer.clear();
      return result;
    } catch (error) {
      timer.clear();
      if (error instanceof BurrowError) throw error;
      throw this.localError(error, options.signal, timer.timedOut(), timeoutMs);
    }
  }

  /** A request whose JSON response body is returned. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return this.exchange(method, path, options, async (response) => {
      const text = await response.text();
      if (text.trim() === '') return undefined as T;
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new BurrowError(
          'INVALID_RESPONSE',
          response.status,
          `the server sent invalid JSON for ${method} ${path}`,
        );
      }
    });
  }

  /** A request whose response body is ignored. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<void> {
    await this.exchange(method, path, options, async (response) => {
      await response.arrayBuffer();
    });
  }

  /** A request whose response body is returned as bytes. */
  async bytes(method: string, path: string, options: RequestOptions = {}): Promise<Uint8Array> {
    return this.exchange(
      method,
      path,
      options,
      async (response) => new Uint8Array(await response.arrayBuffer()),
    );
  }

  /** A request whose response body is returned as a stream (the deadline covers only the headers). */
  async stream(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    return this.exchange(method, path, { ...options, streamResponse: true }, (response) =>
      Promise.resolve(response),
    );
  }

  /** Turns a fetch failure into the local error family. */
  localError(error: unknown, signal: AbortSignal | undefined, timedOut: boolean, timeoutMs: number): Error {
    if (timedOut) return new TimeoutError(timeoutMs);
    if (signal?.aborted === true) return new AbortedError(undefined, { cause: signal.reason });
    if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) {
      return new AbortedError(undefined, { cause: error });
    }
    return ConnectionError.unreachable(this.baseUrl, networkReason(error), { cause: error });
  }
}
