/**
 * `GET /api/v1/sandboxes/{id}/exec/stream`: the WebSocket exec. The upgrade passes the app's gate (rate limit,
 * API key) like any request, then Den's origin check: no `Origin` is fine (non-browser clients), otherwise it
 * must be an allowed origin, else 403 without upgrading. A plain GET (no upgrade) is a 400.
 */
import { BurrowError } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { sendError } from '../errors.js';
import type { IdParams } from '../routes/sandboxes.js';
import { ExecSession } from './exec-session.js';

export function execStreamRoute(app: FastifyInstance, context: ApiContext): void {
  app.route<{ Params: IdParams }>({
    method: 'GET',
    url: '/api/v1/sandboxes/:id/exec/stream',
    onRequest: (request, reply, done) => {
      const origin = request.headers.origin;
      if (origin !== undefined && !context.origins.allowsWebSocket(origin, request)) {
        sendError(
          reply,
          new BurrowError('FORBIDDEN', `origin ${origin} is not allowed: add it to server.allowed_origins`),
        );
        return;
      }
      done();
    },
    handler: () => {
      throw new BurrowError(
        'BAD_REQUEST',
        'this endpoint is a WebSocket: connect with an Upgrade: websocket request',
      );
    },
    wsHandler: (socket, request) => {
      new ExecSession({
        socket,
        sandboxId: request.params.id,
        engine: context.engine,
        log: request.log,
      }).start();
    },
  });
}
