/**
 * The HTTP + WebSocket API: Den's `/api/v1` routes with Burrow's additions. `buildApp` returns a Fastify instance,
 * not yet listening; the server adds its own routes (MCP) and calls `listen`. The dashboard's static files are
 * served when `dashboardDir` is given.
 */
import { createServer, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import websocket from '@fastify/websocket';
import { BurrowError, type Resources } from '@burrow/protocol';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import type { Caller, CallerContext } from '../engine/caller.js';
import type { Engine } from '../engine/engine.js';
import type { KeyResolver } from '../engine/keys.js';
import { ApiKeyAuth, selectWebSocketProtocol } from './auth.js';
import { installCallers } from './callers.js';
import { installJsonParser } from './body.js';
import type { ApiContext, NetworkApi, VersionInfo } from './context.js';
import { Origins } from './cors.js';
import { installErrorHandling, sendError } from './errors.js';
import { installGate } from './gate.js';
import { LoopbackGuard } from './loopback-guard.js';
import { TokenBuckets, type RateLimit } from './rate-limit.js';
import { installRequestLog } from './request-log.js';
import { recordRoutes } from './route-registry.js';
import { dashboardRoutes } from './routes/dashboard.js';
import {
  DEFAULT_SLOW_CLIENT_LIMITS,
  httpServerOptions,
  installSlowClientLimits,
  type SlowClientLimits,
} from './slow-clients.js';
import { execRoutes } from './routes/exec.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoute, type MetricsEndpoint } from './routes/metrics.js';
import { openApiRoute } from './routes/openapi.js';
import { networkRoutes } from './routes/network.js';
import { portRoutes } from './routes/ports.js';
import { processRoutes } from './routes/processes.js';
import { s3Routes } from './routes/s3.js';
import { sandboxRoutes } from './routes/sandboxes.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { statsRoutes } from './routes/stats.js';
import { tenancyRoutes, type TenancyAdmin } from './routes/tenancy.js';
import { execStreamRoute } from './ws/exec-stream.js';
import { processStreamRoutes } from './ws/process-streams.js';

export interface ApiOptions {
  engine: Engine;
  /** A pino logger, or Fastify's logger options (`false` for none). */
  logger: FastifyBaseLogger | FastifyServerOptions['logger'];
  /** `keys` resolves every key (config and stored); without it only `apiKeys` (admin keys) are valid. */
  auth: { enabled: boolean; apiKeys: string[]; keys?: KeyResolver | undefined };
  /** Carries each request's caller to the engine; default: the engine's own. */
  callers?: CallerContext;
  /** Stored keys and the audit log for the admin routes (501 without). */
  tenancy?: TenancyAdmin | undefined;
  /** Browser origins allowed (CORS and WebSocket); Den's localhost defaults when empty. */
  allowedOrigins: string[];
  /** `now` (milliseconds, monotonic) is for tests; the default is the process's clock. */
  rateLimit: { rps: number; burst: number; now?: () => number };
  /** A tenant's own rate limit, when it has one. */
  rateLimitFor?: ((caller: Caller) => RateLimit | undefined) | undefined;
  /** Behind a reverse proxy: take the client address from X-Forwarded-For / X-Real-IP. */
  trustProxy: boolean;
  /** Largest file accepted by PUT /files and uploads (default 1 GiB). */
  maxFileBytes?: number;
  /** Largest JSON body (default 1 MiB). */
  maxJsonBytes?: number;
  /** How often a WebSocket exec pings its client; one that missed the last ping is cut off (default 30 s). */
  webSocketHeartbeatMs?: number;
  /** Header and body deadlines and the connection cap (defaults: 10 s, 30 s, 1024). */
  slowClients?: Partial<SlowClientLimits>;
  version: VersionInfo;
  /** A directory with the built web dashboard, served at `/`; without it `/` is a 404. */
  dashboardDir?: string | undefined;
  /** Throws when the container runtime does not answer. */
  ping(): Promise<void>;
  resources(): Promise<Resources>;
  /**
   * The runtime's path runs background processes and watches (the agent's paths do, the Engine API path does
   * not): decides whether /health advertises them. Default true.
   */
  interactive?: boolean;
  /** Serves `GET /metrics` and counts requests, when given. */
  metrics?: MetricsEndpoint;
  /** Published ports, previews and egress policies (proxy/sandbox-network.ts). */
  network?: NetworkApi;
  /** Serves preview URLs (proxy/preview-proxy.ts); its requests never reach the API's routes. */
  preview?: PreviewServer;
}

/** Requests for a sandbox's port: taken before routing, upgrades included (they are the sandbox's, not the API's). */
export interface PreviewServer {
  claims(request: IncomingMessage): boolean;
  handle(request: IncomingMessage, response: ServerResponse): void;
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * The HTTP server: preview requests (and their upgrades) go to the preview proxy, everything else to Fastify. Upgrades
 * are taken before the WebSocket plugin sees them, so a sandbox's own WebSocket server does the handshake.
 */
function serverWithPreviews(preview: PreviewServer) {
  return (
    handler: (request: IncomingMessage, response: ServerResponse) => void,
    options: {
      keepAliveTimeout?: number;
      requestTimeout?: number;
      connectionTimeout?: number;
      http?: ServerOptions;
    },
  ) => {
    // Fastify's `http` options (the slow-client deadlines) apply to preview requests too.
    const server = createServer(options.http ?? {}, (request, response) => {
      if (preview.claims(request)) preview.handle(request, response);
      else handler(request, response);
    });
    // What Fastify sets on a server it makes itself.
    if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
    if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
    server.setTimeout(options.connectionTimeout ?? 0);
    const emit = server.emit.bind(server) as (event: string, ...args: unknown[]) => boolean;
    server.emit = ((event: string, ...args: unknown[]) => {
      const [request, socket, head] = args as [IncomingMessage, Duplex, Buffer];
      if (event === 'upgrade' && preview.claims(request)) {
        preview.upgrade(request, socket, head);
        return true;
      }
      return emit(event, ...args);
    }) as typeof server.emit;
    return server;
  };
}

export const DEFAULT_MAX_FILE_BYTES = 1024 ** 3;
export const DEFAULT_MAX_JSON_BYTES = 1024 ** 2;
/** Largest WebSocket message (stdin chunks included). */
const MAX_WS_MESSAGE_BYTES = 16 * 1024 * 1024;

function isLogger(value: ApiOptions['logger']): value is FastifyBaseLogger {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as FastifyBaseLogger).child === 'function' &&
    typeof (value as FastifyBaseLogger).info === 'function'
  );
}

export async function buildApp(options: ApiOptions): Promise<FastifyInstance> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxJsonBytes = options.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
  const logging = isLogger(options.logger)
    ? { loggerInstance: options.logger }
    : { logger: options.logger ?? false };
  const slowClients = { ...DEFAULT_SLOW_CLIENT_LIMITS, ...options.slowClients };
  const app = Fastify({
    ...logging,
    trustProxy: options.trustProxy,
    bodyLimit: maxJsonBytes,
    // Long execs and large transfers must never be cut by a server timeout: Node's request timeout is off, and
    // slow-clients.ts bounds headers, non-stream bodies and the number of connections instead.
    requestTimeout: 0,
    connectionTimeout: 0,
    http: httpServerOptions(slowClients),
    exposeHeadRoutes: false,
    // One line per request comes from request-log.ts instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    ...(options.preview === undefined ? {} : { serverFactory: serverWithPreviews(options.preview) }),
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, new BurrowError('BAD_REQUEST', `invalid request: ${error.message}`));
    },
  }) as unknown as FastifyInstance;

  const routes = recordRoutes(app);
  const origins = new Origins(options.allowedOrigins);
  const context: ApiContext = {
    engine: options.engine,
    network: options.network,
    origins,
    maxFileBytes,
    maxJsonBytes,
    ...(options.webSocketHeartbeatMs === undefined
      ? {}
      : { webSocketHeartbeatMs: options.webSocketHeartbeatMs }),
    version: options.version,
    ping: options.ping,
    resources: options.resources,
    interactive: options.interactive ?? true,
    tenancy: options.tenancy,
  };

  installErrorHandling(app, routes, { maxFileBytes, maxJsonBytes });
  installSlowClientLimits(app, slowClients);
  installRequestLog(app);
  installJsonParser(app);
  // Before the WebSocket plugin, whose own route hook takes each route's WebSocket handler as it is.
  installCallers(app, options.callers ?? options.engine.tenancy.callers);
  await app.register(websocket, {
    options: {
      maxPayload: MAX_WS_MESSAGE_BYTES,
      perMessageDeflate: false,
      handleProtocols: selectWebSocketProtocol,
    },
    // A socket error (client vanished mid-frame) only ends that connection.
    errorHandler: (error, socket, request) => {
      request.log.debug({ err: error }, 'websocket error');
      socket.terminate();
    },
    preClose: function closeSockets(done) {
      const clients = [...this.websocketServer.clients];
      for (const client of clients) client.close(1001, 'server shutting down');
      // A client that does not answer the close handshake is cut off rather than holding up shutdown.
      setTimeout(() => clients.forEach((client) => client.terminate()), 2000).unref();
      done();
    },
  });

  // After the WebSocket plugin: its hook marks upgrade requests, so a refused upgrade (401, 429) closes its socket.
  installGate(app, {
    auth: new ApiKeyAuth(options.auth),
    guard: new LoopbackGuard({
      authEnabled: options.auth.enabled,
      origins,
      allowedOrigins: options.allowedOrigins,
    }),
    origins,
    buckets: new TokenBuckets(options.rateLimit),
    trustProxy: options.trustProxy,
    rateLimitFor: options.rateLimitFor,
  });

  healthRoutes(app, context);
  sandboxRoutes(app, context);
  execRoutes(app, context);
  execStreamRoute(app, context);
  processRoutes(app, context);
  processStreamRoutes(app, context);
  fileRoutes(app, context);
  s3Routes(app, context);
  portRoutes(app, context);
  networkRoutes(app, context);
  snapshotRoutes(app, context);
  statsRoutes(app, context);
  tenancyRoutes(app, context);
  openApiRoute(app, context);
  if (options.metrics !== undefined) metricsRoute(app, options.metrics);
  if (options.dashboardDir !== undefined) dashboardRoutes(app, options.dashboardDir);
  await app.after();
  return app;
}
