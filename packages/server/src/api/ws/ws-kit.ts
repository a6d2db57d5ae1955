/**
 * What every WebSocket route shares: Den's origin rule before the upgrade, a heartbeat that finds clients gone
 * without a close, sends that wait while a slow client's buffer is full, and one way to end with an error frame.
 */
import { BurrowError, isBurrowError } from '@burrow/protocol';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import type { ApiContext } from '../context.js';
import { sendError } from '../errors.js';

/** Above this many unsent bytes, a sender waits until the client catches up. */
export const SEND_HIGH_WATER_BYTES = 1024 * 1024;
const HEARTBEAT_MS = 30_000;

/**
 * The upgrade's `onRequest`: no `Origin` is fine (non-browser clients); otherwise it must be allowed, else 403
 * without upgrading.
 */
export function originCheck(context: ApiContext) {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const origin = request.headers.origin;
    if (origin !== undefined && !context.origins.allowsWebSocket(origin, request)) {
      sendError(
        reply,
        new BurrowError('FORBIDDEN', `origin ${origin} is not allowed: add it to server.allowed_origins`),
      );
      return;
    }
    done();
  };
}

/** A plain GET on a WebSocket route. */
export function notAnUpgrade(): never {
  throw new BurrowError(
    'BAD_REQUEST',
    'this endpoint is a WebSocket: connect with an Upgrade: websocket request',
  );
}

/** Pings every 30 s; a client that missed a pong is cut off. Returns the timer to clear. */
export function startHeartbeat(socket: WebSocket): NodeJS.Timeout {
  let alive = true;
  socket.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, HEARTBEAT_MS);
  timer.unref();
  return timer;
}

/** Sends a frame; resolves at once, or once flushed when the client is reading slowly. */
export function send(socket: WebSocket, data: string | Buffer, binary = false): Promise<void> {
  if (socket.readyState !== WebSocket.OPEN) return Promise.resolve();
  return new Promise((resolve) => {
    socket.send(data, { binary }, () => resolve());
    if (socket.bufferedAmount < SEND_HIGH_WATER_BYTES) resolve();
  });
}

export function sendJson(socket: WebSocket, message: unknown): Promise<void> {
  return send(socket, JSON.stringify(message));
}

/** Text of a frame (JSON messages may arrive in binary frames too). */
export function frameText(data: RawData): string {
  return frameBytes(data).toString('utf8');
}

export function frameBytes(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? Buffer.from(data) : data;
}

/** The error a stream ends with: Burrow's own as they are, anything else logged and hidden behind INTERNAL. */
export function streamFailure(error: unknown, log: FastifyBaseLogger, what: string): BurrowError {
  if (isBurrowError(error)) return error;
  log.error({ err: error }, `${what} failed`);
  return new BurrowError('INTERNAL', 'internal error');
}

/** Sends `{"type":"error"}` and closes: 1008 after a client error, 1011 after a server error. */
export function failSocket(socket: WebSocket, failure: BurrowError): void {
  void sendJson(socket, { type: 'error', data: failure.message, code: failure.code });
  closeSocket(socket, failure.status >= 500 ? 1011 : 1008, failure.code);
}

export function closeSocket(socket: WebSocket, code: number, reason: string): void {
  // The close handshake needs the client's close frame read.
  if (socket.isPaused) socket.resume();
  if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
}
