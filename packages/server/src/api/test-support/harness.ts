/** Starts the API on a real loopback port over an in-memory runtime and store, for the API tests. */
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { Auditor } from '../../engine/audit.js';
import { CallerContext, canSee } from '../../engine/caller.js';
import { Engine, type EngineLimits, type EngineOptions } from '../../engine/engine.js';
import { KeyService } from '../../engine/keys.js';
import { tenantOf, type Quotas } from '../../engine/quotas.js';
import type { SandboxPolicy } from '../../engine/admission.js';
import type { Clock } from '../../engine/clock.js';
import type { S3Sync } from '../../engine/s3-sync.js';
import { silentLogger } from '../../logger.js';
import { PrometheusMetrics } from '../../metrics/prometheus.js';
import { FakeRuntime } from '../../runtime/fake/fake-runtime.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { buildApp, type ApiOptions } from '../app.js';
import { CertificateFactory } from '../../proxy/egress-ca.js';
import { PortPublisher } from '../../proxy/port-publisher.js';
import { PreviewAccess } from '../../proxy/preview-access.js';
import { PreviewProxy } from '../../proxy/preview-proxy.js';
import { PreviewRoutes } from '../../proxy/preview-target.js';
import { SandboxNetwork } from '../../proxy/sandbox-network.js';
import { testPolicy as defaultTestPolicy } from '../../test-support/policy.js';

export const API_KEY = 'test-key-0123456789';

export const testPolicy = defaultTestPolicy();

export interface HarnessOptions extends Partial<Omit<ApiOptions, 'engine'>> {
  maxSandboxes?: number;
  policy?: Partial<SandboxPolicy>;
  clock?: Clock;
  /** The engine's bounds on what it collects from a sandbox. */
  limits?: Partial<EngineLimits>;
  /** Builds the engine's S3 storage over the harness's runtime and store. */
  s3?: (deps: { runtime: FakeRuntime; store: SqliteStore }) => S3Sync;
  /** More engine options (lifetimes, admission gate). */
  engine?: Partial<EngineOptions>;
  /** `GET /metrics` without a key. */
  metricsPublic?: boolean;
  /** Auth of the API and of previews (default: on, with API_KEY). */
  authEnabled?: boolean;
  /** Refusals the egress proxy counted (default: none). */
  refusals?: { refused(id: string): number; forget(id: string): void };
  /** Per-tenant quotas. */
  quotas?: Quotas;
}

export interface Harness {
  url: string;
  app: FastifyInstance;
  engine: Engine;
  runtime: FakeRuntime;
  store: SqliteStore;
  metrics: PrometheusMetrics;
  network: SandboxNetwork;
  publisher: PortPublisher;
  /** Stored keys (API_KEY is the config file's admin key). */
  keys: KeyService;
  callers: CallerContext;
  /** fetch with the API key (unless `headers` override it). */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** A fresh running sandbox's id. */
  sandbox(): Promise<string>;
  ws(path: string, headers?: Record<string, string>): WebSocket;
  close(): Promise<void>;
}

export async function startApi(harnessOptions: HarnessOptions = {}): Promise<Harness> {
  const {
    maxSandboxes,
    policy,
    clock,
    s3,
    limits,
    engine: engineOptions,
    metricsPublic,
    authEnabled = true,
    refusals,
    quotas,
    ...options
  } = harnessOptions;
  const metrics = new PrometheusMetrics({ sandboxRefreshMs: 0 });
  const runtime = new FakeRuntime();
  const store = new SqliteStore(':memory:');
  const publisher = new PortPublisher({
    connect: (id, port) => engine.connectPort(id, port),
    logger: silentLogger,
  });
  const routes = new PreviewRoutes({
    domain: 'localhost',
    scheme: 'http',
    port: 0,
    loopbackOnly: !authEnabled,
  });
  const callers = new CallerContext();
  const network = new SandboxNetwork({
    store,
    runtime,
    publisher,
    certificates: new CertificateFactory(),
    routes,
    serverDeny: [],
    authEnabled,
    defaultTokenTtlMs: 3_600_000,
    refusals: refusals ?? { refused: () => 0, forget: () => undefined },
    logger: silentLogger,
    visible: (record) => canSee(callers.current(), tenantOf(record)),
    ...(clock === undefined ? {} : { now: () => clock.now() }),
  });
  const auditor = new Auditor({ store: store.audit, callers, logger: silentLogger, retentionMs: 0 });
  const keys = new KeyService({ store: store.keys, configKeys: [API_KEY], logger: silentLogger, auditor });
  const engine: Engine = new Engine({
    runtime,
    store,
    policy: { ...testPolicy, ...policy },
    maxSandboxes: maxSandboxes ?? 50,
    logger: silentLogger,
    ...(clock === undefined ? {} : { clock }),
    ...(limits === undefined ? {} : { limits }),
    ...(s3 === undefined ? {} : { s3: s3({ runtime, store }) }),
    hooks: [network],
    metrics,
    ...(quotas === undefined ? {} : { quotas }),
    callers,
    auditor,
    ...engineOptions,
  });
  metrics.attach(engine, runtime);
  const app = await buildApp({
    engine,
    logger: false,
    auth: { enabled: authEnabled, apiKeys: [API_KEY], keys },
    callers,
    tenancy: { keys, auditor },
    network,
    preview: new PreviewProxy({
      routes,
      access: new PreviewAccess({
        authEnabled,
        checkApiKey: (key, sandboxId) => engine.keyReach(keys.resolve(key), sandboxId),
        tokenKey: (id) => network.tokenKey(id),
        isPublic: (id, port) => network.isPublic(id, port),
        ...(clock === undefined ? {} : { now: () => clock.now() }),
      }),
      connect: (id, port) => engine.connectPort(id, port),
      logger: silentLogger,
    }),
    allowedOrigins: [],
    rateLimit: { rps: 10_000, burst: 10_000 },
    trustProxy: false,
    version: { version: '9.9.9', commit: 'abc123', buildDate: '2026-01-01' },
    ping: () => Promise.resolve(),
    metrics: {
      public: metricsPublic === true,
      contentType: metrics.contentType,
      text: () => metrics.text(),
      request: (...args) => metrics.request(...args),
    },
    resources: () =>
      Promise.resolve({
        host: { cpu_cores: 4, memory_free: 1, memory_total: 2, memory_used: 1 },
        pressure: { can_create: true, level: 'normal', next_threshold: 0.7, score: 0.5 },
        sandboxes: { active: 0, total: 0 },
      }),
    ...options,
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${address}${path}`, {
      ...init,
      headers: { 'x-api-key': API_KEY, ...(init.headers as Record<string, string> | undefined) },
    });
  return {
    url: address,
    app,
    engine,
    runtime,
    store,
    metrics,
    network,
    publisher,
    keys,
    callers,
    call,
    sandbox: async () => (await engine.create({})).id,
    ws: (path, headers = { 'x-api-key': API_KEY }) =>
      new WebSocket(`${address.replace('http', 'ws')}${path}`, { headers }),
    close: async () => {
      // fetch may hold a spare connection that never sends a request; do not wait for it to time out.
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
      await publisher.close();
      store.close();
    },
  };
}

export interface WsTranscript {
  messages: Record<string, unknown>[];
  code: number;
  reason: string;
}

/** Collects every message until the server closes, sending `first` (and `then`) once open. */
export function transcript(socket: WebSocket, first?: unknown, then: unknown[] = []): Promise<WsTranscript> {
  return new Promise((resolve, reject) => {
    const messages: Record<string, unknown>[] = [];
    socket.on('open', () => {
      if (first !== undefined) socket.send(typeof first === 'string' ? first : JSON.stringify(first));
      for (const message of then) socket.send(JSON.stringify(message));
    });
    socket.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
    socket.on('close', (code, reason) => resolve({ messages, code, reason: reason.toString() }));
    socket.on('error', reject);
  });
}
