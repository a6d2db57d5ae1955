/**
 * `GET /api/v1/sandboxes/{id}/exec/stream`: the WebSocket exec. The upgrade passes the app's gate (rate limit,
 * API key) like any request, then Den's origin check: no `Origin` is fine (non-browser clients), otherwise it
 * must be an allowed origin, else 403 without upgrading. A plain GET (no upgrade) is a 400.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import type { IdParams } from '../routes/sandboxes.js';
import { ExecSession } from './exec-session.js';
import { notAnUpgrade, originCheck } from './ws-kit.js';

export function execStreamRoute(app: FastifyInstance, context: ApiContext): void {
  app.route<{ Params: IdParams }>({
    method: 'GET',
    url: '/api/v1/sandboxes/:id/exec/stream',
    onRequest: originCheck(context),
    handler: notAnUpgrade,
    wsHandler: (socket, request) => {
      new ExecSession({
        socket,
        sandboxId: request.params.id,
        engine: context.engine,
        log: request.log,
        ...(context.webSocketHeartbeatMs === undefined ? {} : { heartbeatMs: context.webSocketHeartbeatMs }),
      }).start();
    },
  });
}
