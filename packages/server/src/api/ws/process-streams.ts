/**
 * The WebSockets of background processes and file watching (Burrow):
 * `GET /api/v1/sandboxes/{id}/processes/{processId}/attach[?replay=true]` and
 * `GET /api/v1/sandboxes/{id}/watch?path=<dir>[&recursive=true]`. What can be checked before the upgrade is
 * (the origin, the query, that the process or directory exists in a running sandbox), so those failures are plain
 * HTTP errors with a code; later ones are `error` frames.
 */
import { BurrowError } from '@burrow/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiContext } from '../context.js';
import { processIdFromWire } from '../process-wire.js';
import { queryPath } from '../query-path.js';
import type { ProcessParams } from '../routes/processes.js';
import type { IdParams } from '../routes/sandboxes.js';
import { AttachSession } from './attach-session.js';
import { notAnUpgrade, originCheck } from './ws-kit.js';
import { WatchSession } from './watch-session.js';

/** `true`/`1` and `false`/`0` (or absent: `fallback`); anything else is a 400 naming the parameter. */
export function booleanQuery(value: string | undefined, name: string, fallback = false): boolean {
  if (value === undefined || value === '') return fallback;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1') return true;
  if (lower === 'false' || lower === '0') return false;
  throw new BurrowError('VALIDATION_FAILED', `${name}: use true or false (got ${JSON.stringify(value)})`, {
    field: name,
  });
}

function isUpgrade(request: FastifyRequest): boolean {
  return (request as { ws?: boolean }).ws === true;
}

/** Said before the upgrade, so a client of a server without the agent gets a plain 501. */
function requireInteractive(context: ApiContext, what: string): void {
  if (context.interactive) return;
  throw new BurrowError(
    'NOT_SUPPORTED',
    `${what} needs the burrow-agent inside the sandbox, which this server's path does not use (runtime.agent_transport ` +
      'is "engine", or the agent binary was not built)',
  );
}

export function processStreamRoutes(app: FastifyInstance, context: ApiContext): void {
  const processes = context.engine.processes;

  app.route<{ Params: ProcessParams; Querystring: { replay?: string } }>({
    method: 'GET',
    url: '/api/v1/sandboxes/:id/processes/:processId/attach',
    onRequest: originCheck(context),
    preHandler: async (request) => {
      if (!isUpgrade(request)) return;
      requireInteractive(context, 'attaching to a background process');
      booleanQuery(request.query.replay, 'replay');
      await processes.get(request.params.id, processIdFromWire(request.params.processId));
    },
    handler: notAnUpgrade,
    wsHandler: (socket, request) => {
      new AttachSession({
        socket,
        sandboxId: request.params.id,
        processId: request.params.processId,
        replay: booleanQuery(request.query.replay, 'replay'),
        processes,
        log: request.log,
      }).start();
    },
  });

  app.route<{ Params: IdParams; Querystring: { recursive?: string } }>({
    method: 'GET',
    url: '/api/v1/sandboxes/:id/watch',
    onRequest: originCheck(context),
    preHandler: async (request) => {
      if (!isUpgrade(request)) return;
      requireInteractive(context, 'watching files');
      booleanQuery(request.query.recursive, 'recursive');
      const path = queryPath(request);
      const info = await context.engine.stat(request.params.id, path);
      if (!info.isDir) {
        throw new BurrowError(
          'NOT_A_DIRECTORY',
          `${Buffer.from(path).toString('utf8')}: not a directory: watch a directory`,
        );
      }
    },
    handler: notAnUpgrade,
    wsHandler: (socket, request) => {
      new WatchSession({
        socket,
        sandboxId: request.params.id,
        path: queryPath(request),
        recursive: booleanQuery(request.query.recursive, 'recursive'),
        processes,
        log: request.log,
      }).start();
    },
  });
}
