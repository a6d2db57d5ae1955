/**
 * E2B's control plane (the `api.<domain>` REST API) over the engine: create, get, list, kill, timeout, connect,
 * pause and metrics, with E2B's status codes and `{code, message}` errors. Keys are Burrow's API keys: each
 * request runs as its key's caller (the engine's CallerContext), so a tenant's key sees and reaches its own
 * sandboxes only, exactly as on Burrow's API.
 */
import { BurrowError } from '@burrow/protocol';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Caller } from '../../engine/caller.js';
import type { Engine, SandboxView } from '../../engine/engine.js';
import type { Logger } from '../../logger.js';
import { checkApiKey, type AccessTokens, type KeyCheck } from '../access.js';
import { e2bError, e2bErrorBody } from '../errors.js';
import type { TemplateImages } from '../templates.js';
import { listPage, parseListQuery, parseMetadataQuery, matches } from './listing.js';
import {
  ConnectSchema,
  createInput,
  NewSandboxSchema,
  parseBody,
  RefreshSchema,
  TimeoutSchema,
} from './requests.js';
import { detailToWire, listedToWire, metricToWire, sandboxToWire, type WireContext } from './wire.js';

export interface ControlPlaneOptions {
  engine: Engine;
  logger: Logger;
  keys: KeyCheck;
  tokens: AccessTokens;
  templates: TemplateImages;
  /** The `<domain>` of sandbox hosts returned to clients. */
  domain: () => string;
  writableRootfs: boolean;
  now?: () => Date;
}

interface IdParams {
  id: string;
}

function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  const key = (Array.isArray(header) ? header[0] : header)?.trim();
  if (key !== undefined && key !== '') return key;
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization?.trim() ?? '')?.[1];
}

export async function buildControlPlane(options: ControlPlaneOptions): Promise<FastifyInstance> {
  const { engine, tokens, templates } = options;
  const now = options.now ?? (() => new Date());
  const wire = (): WireContext => ({ tokens, domain: options.domain(), authEnabled: options.keys.enabled });
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = e2bError(error);
    if (internal) options.logger.error({ err: error, url: request.url.split('?')[0] }, 'E2B request failed');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(
        e2bErrorBody(
          404,
          `${request.method} ${request.url.split('?')[0]} is not part of the E2B API this server serves`,
        ),
      ),
  );
  const callers = new WeakMap<FastifyRequest, Caller>();
  app.addHook('onRequest', async (request) => {
    const verdict = checkApiKey(options.keys, presentedKey(request));
    if (verdict.kind === 'missing')
      throw new BurrowError('UNAUTHORIZED', 'missing API key: send X-API-KEY (E2B_API_KEY)');
    if (verdict.kind === 'invalid')
      throw new BurrowError('UNAUTHORIZED', "invalid API key: use one of the server's API keys");
    callers.set(request, { ...verdict.caller, address: request.ip });
  });
  // Entered right before the handler: a body is parsed in events outside the hooks' context (as in the API).
  app.addHook('preHandler', (request, _reply, done) => {
    const caller = callers.get(request);
    if (caller === undefined) done();
    else engine.tenancy.callers.run(caller, done);
  });

  /** A sandbox by id; 404 in E2B's words when there is none. */
  const find = (id: string): SandboxView => {
    const view = engine.list().find((record) => record.id === id);
    if (view === undefined || view.status === 'creating') {
      throw new BurrowError('SANDBOX_NOT_FOUND', `sandbox "${id.slice(0, 64)}" not found`);
    }
    return view;
  };

  const create = async (request: FastifyRequest, reply: FastifyReply) => {
    const body = parseBody(NewSandboxSchema, request.body);
    const input = createInput(body, {
      image: templates.image(body.templateID),
      defaultNetworkMode: engine.policy.defaultNetworkMode,
      writableRootfs: options.writableRootfs,
    });
    const view = await engine.create(input);
    return reply.status(201).send(sandboxToWire(view, wire()));
  };
  app.post('/sandboxes', create);
  app.post('/v2/sandboxes', create);

  app.get('/health', async (_request, reply) =>
    reply.status(200).send({ message: 'Health check successful' }),
  );

  // The first listing API: running sandboxes, filtered by metadata, no pages.
  app.get('/sandboxes', async (request) => {
    const metadata = parseMetadataQuery((request.query as { metadata?: string }).metadata);
    const query = { metadata, states: ['running'], order: 'desc' as const, limit: Number.MAX_SAFE_INTEGER };
    return engine
      .list()
      .filter((view) => matches(view, query))
      .map(listedToWire);
  });

  app.get('/v2/sandboxes', async (request, reply) => {
    const page = listPage(engine.list(), parseListQuery(request.query as Record<string, unknown>));
    if (page.nextToken !== undefined) reply.header('x-next-token', page.nextToken);
    return page.items.map(listedToWire);
  });

  app.get<{ Params: IdParams }>('/sandboxes/:id', async (request) =>
    detailToWire(find(request.params.id), wire()),
  );

  app.delete<{ Params: IdParams }>('/sandboxes/:id', async (request, reply) => {
    await engine.destroy(find(request.params.id).id);
    return reply.status(204).send();
  });

  app.post<{ Params: IdParams }>('/sandboxes/:id/timeout', async (request, reply) => {
    const { timeout } = parseBody(TimeoutSchema, request.body);
    engine.extendTimeout(find(request.params.id).id, timeout * 1000);
    return reply.status(204).send();
  });

  app.post<{ Params: IdParams }>('/sandboxes/:id/refreshes', async (request, reply) => {
    const { duration } = parseBody(RefreshSchema, request.body);
    const view = find(request.params.id);
    extendAtLeast(view, (duration ?? 0) * 1000);
    return reply.status(204).send();
  });

  /** Running: the lifetime grows (never shrinks) to `timeoutMs` from now. */
  const extendAtLeast = (view: SandboxView, timeoutMs: number) => {
    if (timeoutMs <= 0) return;
    const left = view.expiresAt === undefined ? Infinity : view.expiresAt.getTime() - now().getTime();
    if (timeoutMs > left) engine.extendTimeout(view.id, timeoutMs);
  };

  /**
   * Running: 200, and the lifetime grows to the timeout asked for. Paused: resumed with its memory, 201. Stopped
   * (its memory gone): started again from its disk only when the client accepts that (E2B's `onResume: 'reboot'`).
   */
  const connect = async (request: FastifyRequest<{ Params: IdParams }>, reply: FastifyReply) => {
    const body = parseBody(ConnectSchema, request.body);
    const view = find(request.params.id);
    const timeoutMs = (body.timeout ?? 0) * 1000;
    if (view.status === 'running') {
      extendAtLeast(view, timeoutMs);
      return reply.status(200).send(sandboxToWire(find(view.id), wire()));
    }
    if (view.status === 'paused') {
      await engine.resume(view.id);
    } else if (body.memory === false) {
      await engine.start(view.id);
    } else {
      throw new BurrowError(
        'CONFLICT',
        `sandbox ${view.id} is ${view.status}, not paused: its memory is gone. Connect with onResume 'reboot' to start it again from its disk (tmpfs contents such as /tmp are lost), or create a new sandbox`,
      );
    }
    if (timeoutMs > 0) engine.extendTimeout(view.id, timeoutMs);
    return reply.status(201).send(sandboxToWire(find(view.id), wire()));
  };
  app.post<{ Params: IdParams }>('/sandboxes/:id/connect', connect);
  app.post<{ Params: IdParams }>('/v2/sandboxes/:id/connect', connect);
  app.post<{ Params: IdParams }>('/sandboxes/:id/resume', async (request, reply) => {
    const view = find(request.params.id);
    if (view.status === 'running') throw new BurrowError('CONFLICT', `sandbox ${view.id} is already running`);
    return connect(request, reply);
  });

  // Burrow's pause keeps memory and disk (the processes are frozen); E2B's filesystem-only pause gets that too.
  app.post<{ Params: IdParams }>('/sandboxes/:id/pause', async (request, reply) => {
    const view = find(request.params.id);
    if (view.status === 'paused') throw new BurrowError('CONFLICT', `sandbox ${view.id} is already paused`);
    if (view.status !== 'running') {
      throw new BurrowError(
        'CONFLICT',
        `sandbox ${view.id} is ${view.status}: only a running sandbox can be paused`,
      );
    }
    await engine.pause(view.id, 'E2B pause');
    return reply.status(204).send();
  });

  app.get<{ Params: IdParams }>('/sandboxes/:id/metrics', async (request) => {
    const view = find(request.params.id);
    if (view.status !== 'running') return [];
    const query = request.query as { start?: string; end?: string };
    const stats = await engine.stats(view.id);
    const at = stats.timestamp.getTime() / 1000;
    const start = Number(query.start ?? -Infinity);
    const end = Number(query.end ?? Infinity);
    // Burrow keeps no history: the one sample there is, now, when the window includes now.
    return at >= start - 1 && at <= end + 1 ? [metricToWire(view, stats)] : [];
  });

  await app.ready();
  return app;
}
