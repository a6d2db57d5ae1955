/**
 * The web platform: the global WebSocket (browsers, and any runtime that has one) and XMLHttpRequest for upload
 * progress. No Node built-ins. A browser cannot send headers on a WebSocket, so the API key travels as a
 * subprotocol (`burrow.v1` plus `burrow.key.<base64url key>`; the server selects only `burrow.v1`), never in the URL.
 */
import { AbortedError, ConnectionError } from './client-errors.js';
import { errorFromBody } from './errors.js';
import type { FetchFn } from './http.js';
import type { OpenSocketOptions, Platform } from './platform.js';
import { awaitOpen, keyProtocols, type SocketLike } from './websocket.js';

/** The part of XMLHttpRequest used here (declared locally: the SDK compiles without the DOM library). */
interface Xhr {
  status: number;
  statusText: string;
  response: unknown;
  responseType: string;
  upload: { addEventListener(type: 'progress', listener: (event: { loaded: number }) => void): void };
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  getAllResponseHeaders(): string;
  addEventListener(type: 'load' | 'error' | 'abort', listener: () => void): void;
  send(body: unknown): void;
  abort(): void;
}
type XhrConstructor = new () => Xhr;

function xhrConstructor(): XhrConstructor | undefined {
  const candidate = (globalThis as { XMLHttpRequest?: XhrConstructor }).XMLHttpRequest;
  return typeof candidate === 'function' ? candidate : undefined;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => unknown;

export interface WebPlatformOptions {
  /** Default: the global WebSocket. */
  WebSocket?: WebSocketConstructor | undefined;
  /** Used to learn why a handshake failed (browsers hide the refused upgrade's response). Default: global fetch. */
  fetch?: FetchFn | undefined;
}

/**
 * Why an upgrade failed: the same URL asked over plain HTTP with the same key answers the refusal (401, 403, 429)
 * as a typed error; a 400 ("this endpoint is a WebSocket") means the refusal was not about the request.
 */
async function diagnose(
  url: string,
  options: OpenSocketOptions,
  fetchFn: FetchFn,
): Promise<Error | undefined> {
  const response = await fetchFn(url.replace(/^ws/, 'http'), { headers: options.headers });
  const text = await response.text().catch(() => '');
  if (response.status === 400 || response.ok) return undefined;
  return errorFromBody(response.status, text, response.headers.get('retry-after'), response.statusText);
}

/** An XMLHttpRequest-backed fetch for one request, reporting upload progress (fetch cannot, over HTTP/1.1). */
function xhrFetch(Request: XhrConstructor, onProgress: (sent: number) => void): FetchFn {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const xhr = new Request();
      xhr.open(init.method ?? 'GET', String(input));
      xhr.responseType = 'arraybuffer';
      for (const [name, value] of new Headers(init.headers).entries()) xhr.setRequestHeader(name, value);
      xhr.upload.addEventListener('progress', (event) => onProgress(event.loaded));
      xhr.addEventListener('load', () => {
        const headers = new Headers();
        for (const line of xhr
          .getAllResponseHeaders()
          .trim()
          .split(/[\r\n]+/)) {
          const at = line.indexOf(':');
          if (at > 0) headers.append(line.slice(0, at).trim(), line.slice(at + 1).trim());
        }
        const status = xhr.status;
        const body = status === 204 || status === 304 ? null : (xhr.response as ArrayBuffer);
        resolve(new Response(body, { status, statusText: xhr.statusText, headers }));
      });
      xhr.addEventListener('error', () => reject(new TypeError('network error')));
      xhr.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      const signal = init.signal;
      if (signal?.aborted === true) {
        reject(new DOMException('aborted', 'AbortError'));
        return;
      }
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(init.body ?? null);
    });
}

export function webPlatform(options: WebPlatformOptions = {}): Platform {
  return {
    async openSocket(url: string, open: OpenSocketOptions): Promise<SocketLike> {
      if (open.signal?.aborted === true) throw new AbortedError();
      const Socket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
      if (typeof Socket !== 'function')
        throw new ConnectionError(
          open.baseUrl,
          'no WebSocket implementation here: use the Node entry of the SDK',
        );
      const socket = (
        open.apiKey === undefined ? new Socket(url) : new Socket(url, keyProtocols(open.apiKey))
      ) as SocketLike;
      const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
      return awaitOpen(socket, {
        baseUrl: open.baseUrl,
        signal: open.signal,
        diagnose: () => diagnose(url, open, fetchFn),
      });
    },
    progressFetch(onProgress) {
      const Request = xhrConstructor();
      // Without XMLHttpRequest the body is sent by fetch in one piece and progress is reported at the end.
      if (Request === undefined) return (input, init) => globalThis.fetch(input, init);
      return xhrFetch(Request, onProgress);
    },
  };
}
