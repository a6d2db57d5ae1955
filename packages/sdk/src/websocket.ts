/**
 * Opening a WebSocket with the API key header. In Node the `ws` package is used because it can send headers and
 * exposes the HTTP response of a refused upgrade (so a 401 or 404 becomes the right typed error); elsewhere the
 * global WebSocket is used (it cannot send headers, so only servers with auth off are reachable that way).
 */
import { AbortedError, ConnectionError, networkReason } from './client-errors.js';
import { errorFromBody } from './errors.js';

/** The subset of the browser WebSocket API the SDK uses; both `ws` and the global WebSocket provide it. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: { error?: unknown; message?: string }) => void): void;
  addEventListener(type: 'open', listener: () => void): void;
}

/** `ws`'s extra event for a refused upgrade, carrying the HTTP response. */
interface NodeSocket extends SocketLike {
  on(event: 'unexpected-response', listener: (request: unknown, response: IncomingResponse) => void): void;
  terminate(): void;
}

interface IncomingResponse {
  statusCode?: number;
  statusMessage?: string;
  headers: Record<string, string | string[] | undefined>;
  setEncoding(encoding: 'utf8'): void;
  on(event: 'data', listener: (chunk: string) => void): void;
  on(event: 'end' | 'error', listener: () => void): void;
}

type SocketConstructor = new (
  url: string,
  protocols?: string[] | Record<string, unknown>,
  options?: unknown,
) => SocketLike;

export const OPEN = 1;

let nodeWebSocket: Promise<SocketConstructor | undefined> | undefined;

async function loadWs(): Promise<SocketConstructor | undefined> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) return undefined;
  nodeWebSocket ??= import('ws').then(
    (module) => (module.default ?? module.WebSocket) as unknown as SocketConstructor,
    () => undefined,
  );
  return nodeWebSocket;
}

function readBody(response: IncomingResponse): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk) => (text += chunk));
    response.on('end', () => resolve(text));
    response.on('error', () => resolve(text));
  });
}

export interface OpenSocketOptions {
  headers: Record<string, string>;
  baseUrl: string;
  signal?: AbortSignal | undefined;
}

/** Resolves once the socket is open; rejects with a typed error when the upgrade is refused or unreachable. */
export async function openSocket(url: string, options: OpenSocketOptions): Promise<SocketLike> {
  if (options.signal?.aborted === true) throw new AbortedError();
  const Ws = await loadWs();
  let socket: SocketLike;
  let refused: Promise<Error> | undefined;
  if (Ws !== undefined) {
    socket = new Ws(url, [], { headers: options.headers, perMessageDeflate: false });
    (socket as NodeSocket).on('unexpected-response', (_request, response) => {
      // Read the refusal's body before dropping the connection: it carries the error code.
      refused = readBody(response).then((text) => {
        (socket as NodeSocket).terminate();
        const retryAfter = response.headers['retry-after'];
        return errorFromBody(
          response.statusCode ?? 0,
          text,
          typeof retryAfter === 'string' ? retryAfter : null,
          response.statusMessage,
        );
      });
    });
  } else if (typeof globalThis.WebSocket === 'function') {
    socket = new globalThis.WebSocket(url) as unknown as SocketLike;
  } else {
    throw new ConnectionError(options.baseUrl, 'no WebSocket implementation here: install the "ws" package');
  }
  return new Promise<SocketLike>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      socket.close();
      reject(new AbortedError());
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    socket.addEventListener('open', () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    socket.addEventListener('error', (event) => {
      if (refused !== undefined) return; // the close handler reports the refusal
      fail(
        ConnectionError.unreachable(options.baseUrl, networkReason(event.error ?? event.message), {
          cause: event.error,
        }),
      );
    });
    socket.addEventListener('close', (event) => {
      if (refused !== undefined) {
        void refused.then(fail);
        return;
      }
      fail(
        new ConnectionError(
          options.baseUrl,
          `the exec WebSocket closed during the handshake (code ${event.code})`,
        ),
      );
    });
  });
}
