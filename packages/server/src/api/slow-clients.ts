/**
 * Bounds on what slow or idle clients can hold, so they cannot exhaust the server's file descriptors: a cap on
 * open connections, a deadline for a request's headers (Node's `headersTimeout`, checked every second or so), and a
 * deadline for the rest of a request that is not a stream: from its headers until its body is parsed (JSON bodies
 * are at most 1 MiB). Streams are never cut: an upload's body is read by its handler (after this deadline is
 * cleared), and exec, downloads and WebSocket streams take as long as they take once the handler runs.
 */
import { BurrowError, errorBody } from '@burrow/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface SlowClientLimits {
  /** Time to receive a request's headers. */
  headerTimeoutMs: number;
  /** Time from a request's headers to its parsed body, for routes that do not stream their body. */
  requestTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_SLOW_CLIENT_LIMITS: SlowClientLimits = {
  headerTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 1024,
};

/** Options for `http.createServer` (through Fastify's `http` option). */
export function httpServerOptions(limits: SlowClientLimits) {
  return {
    headersTimeout: limits.headerTimeoutMs,
    // Node checks the deadlines above on this interval (30 s by default, too coarse for a 10 s deadline).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headerTimeoutMs / 4))),
  };
}

export function installSlowClientLimits(app: FastifyInstance, limits: SlowClientLimits): void {
  app.server.maxConnections = limits.maxConnections;
  const timers = new WeakMap<FastifyRequest, NodeJS.Timeout>();
  const clear = (request: FastifyRequest) => {
    clearTimeout(timers.get(request));
    timers.delete(request);
  };
  app.addHook('onRequest', (request, reply, done) => {
    const timer = setTimeout(() => {
      request.log.info({ timeoutMs: limits.requestTimeoutMs }, 'request body too slow: connection closed');
      const error = new BurrowError(
        'REQUEST_TIMEOUT',
        `the request body did not arrive within ${limits.requestTimeoutMs} ms`,
      );
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(408, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
        reply.raw.end(JSON.stringify(errorBody(error)));
      }
      request.raw.socket.destroy();
    }, limits.requestTimeoutMs);
    timer.unref();
    timers.set(request, timer);
    done();
  });
  app.addHook('preHandler', (request, _reply, done) => {
    clear(request);
    done();
  });
  app.addHook('onResponse', (request, _reply, done) => {
    clear(request);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    clear(request);
    done();
  });
}
