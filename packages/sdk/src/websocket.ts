/**
 * The WebSocket pieces every platform shares: the subset of the socket API the SDK uses, the subprotocols that
 * carry an API key where headers cannot be sent (browsers), and waiting for the handshake with typed failures.
 */
import { AbortedError, ConnectionError, networkReason } from './client-errors.js';

/** The subset of the browser WebSocket API the SDK uses; both `ws` and the global WebSocket provide it. */
export interface SocketLike {
  readonly readyState: number;
  /** `'arraybuffer'` makes binary messages arrive as ArrayBuffers on every platform. */
  binaryType: string;
  /** Strings go as text frames, bytes as binary frames. */
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'error', listener: (event: { error?: unknown; message?: string }) => void): void;
  addEventListener(type: 'open', listener: () => void): void;
}

export const OPEN = 1;

/** The subprotocol a Burrow server selects; offering it is what makes the key subprotocol meaningful. */
export const WS_PROTOCOL = 'burrow.v1';
/** Prefix of the subprotocol carrying the API key: `burrow.key.<base64url of the key's UTF-8 bytes>`. */
export const WS_KEY_PROTOCOL_PREFIX = 'burrow.key.';

/** The subprotocols that authenticate a browser WebSocket (the key never goes into the URL). */
export function keyProtocols(apiKey: string): string[] {
  const bytes = new TextEncoder().encode(apiKey);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const encoded = btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  return [WS_PROTOCOL, `${WS_KEY_PROTOCOL_PREFIX}${encoded}`];
}

export interface HandshakeOptions {
  baseUrl: string;
  signal?: AbortSignal | undefined;
  /** Set once the platform knows why the upgrade was refused (e.g. the HTTP response of a 401). */
  refusal?: () => Promise<Error> | undefined;
  /** Explains a handshake that failed without a reason (browsers hide the HTTP response of a refused upgrade). */
  diagnose?: () => Promise<Error | undefined>;
}

type Listener = (event: never) => void;

/**
 * The socket as its user sees it: `message` and `close` events that arrive before the user's listeners (in Node a
 * server's first frames, even its close, can come in the same read as the handshake, ahead of the code awaiting
 * the open) are held and delivered, in order, once listeners are added.
 */
export function holdEarlyEvents(socket: SocketLike): SocketLike {
  const listeners = { message: [] as Listener[], close: [] as Listener[] };
  let held: { type: 'message' | 'close'; event: unknown }[] | undefined = [];
  const dispatch = (type: 'message' | 'close', event: unknown) => {
    for (const listener of listeners[type]) (listener as (event: unknown) => void)(event);
  };
  for (const type of ['message', 'close'] as const) {
    socket.addEventListener(type as 'message', (event: unknown) => {
      if (held === undefined) dispatch(type, event);
      else held.push({ type, event });
    });
  }
  const flush = () => {
    const early = held ?? [];
    held = undefined;
    for (const { type, event } of early) dispatch(type, event);
  };
  return {
    get readyState() {
      return socket.readyState;
    },
    get binaryType() {
      return socket.binaryType;
    },
    set binaryType(value: string) {
      socket.binaryType = value;
    },
    send: (data) => socket.send(data),
    close: (code, reason) => socket.close(code, reason),
    addEventListener: (type: string, listener: Listener) => {
      if (type !== 'message' && type !== 'close') {
        socket.addEventListener(type as 'open', listener as () => void);
        return;
      }
      listeners[type].push(listener);
      // After the caller has added the rest of its listeners in the same turn.
      if (held !== undefined) queueMicrotask(flush);
    },
  } as SocketLike;
}

/** Resolves once the socket is open; rejects with a typed error when the handshake fails or is aborted. */
export function awaitOpen(raw: SocketLike, options: HandshakeOptions): Promise<SocketLike> {
  const socket = holdEarlyEvents(raw);
  return new Promise<SocketLike>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      raw.close();
      reject(new AbortedError());
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    let errored: Error | undefined;
    raw.addEventListener('open', () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      resolve(socket);
    });
    raw.addEventListener('error', (event) => {
      if (options.refusal?.() !== undefined) return; // the close handler reports the refusal
      errored = ConnectionError.unreachable(options.baseUrl, networkReason(event.error ?? event.message), {
        cause: event.error,
      });
      if (options.diagnose === undefined) fail(errored);
    });
    raw.addEventListener('close', (event) => {
      const refused = options.refusal?.();
      if (refused !== undefined) {
        void refused.then(fail);
        return;
      }
      const fallback =
        errored ??
        new ConnectionError(
          options.baseUrl,
          `the exec WebSocket closed during the handshake (code ${event.code})`,
        );
      if (options.diagnose === undefined) {
        fail(fallback);
        return;
      }
      void options.diagnose().then(
        (error) => fail(error ?? fallback),
        () => fail(fallback),
      );
    });
    if (options.signal?.aborted === true) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
