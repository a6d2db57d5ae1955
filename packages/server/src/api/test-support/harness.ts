/**
 * The API on a real loopback port, wired as `burrow serve` wires it (engine, store, status watcher), over one of two
 * runtimes: the in-memory fake with an in-memory store (unit tier, `*.test.ts`), or the real Docker runtime with a
 * SQLite file in a temporary directory (docker tier, `*.docker.test.ts`). An API suite is written once as a
 * function of the runtime kind and run by one thin file per tier; cases only one runtime can express are marked
 * with `dockerOnly` / `fakeOnly` (cases.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { Auditor } from '../../engine/audit.js';
import { CallerContext, canSee } from '../../engine/caller.js';
import { KeyService } from '../../engine/keys.js';
import { tenantOf, type Quotas } from '../../engine/quotas.js';
import type { SandboxPolicy } from '../../engine/admission.js';
import type { Clock } from '../../engine/clock.js';
import { Engine, type EngineLimits, type EngineOptions, type SandboxHooks } from '../../engine/engine.js';
import type { S3Sync } from '../../engine/s3-sync.js';
import { StatusWatcher } from '../../engine/status-watcher.js';
import type { CreateSandboxInput } from '../../engine/admission.js';
import { silentLogger } from '../../logger.js';
import { PrometheusMetrics } from '../../metrics/prometheus.js';
import { FAKE_USER_IMAGE, FakeRuntime } from '../../runtime/fake/fake-runtime.js';
import type { Runtime } from '../../runtime/runtime.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { dockerVolumeName } from '../../storage/volumes.js';
import {
  BUSYBOX_IMAGE,
  DEBIAN_IMAGE,
  testDockerRuntime,
  testUserImage,
} from '../../test-support/docker-runtime.js';
import { testPolicy as defaultTestPolicy } from '../../test-support/policy.js';
import { buildApp, type ApiOptions } from '../app.js';
import { CertificateFactory } from '../../proxy/egress-ca.js';
import { PortPublisher } from '../../proxy/port-publisher.js';
import { PreviewAccess } from '../../proxy/preview-access.js';
import { PreviewProxy } from '../../proxy/preview-proxy.js';
import { PreviewRoutes } from '../../proxy/preview-target.js';
import { SandboxNetwork } from '../../proxy/sandbox-network.js';

export const API_KEY = 'test-key-0123456789';

/** Which runtime a harness runs on: the in-memory fake (unit tier) or Docker (docker tier). */
export type RuntimeKind = 'fake' | 'docker';

/** The fake's policy; `startApi` gives Docker harnesses the busybox test image as the default instead. */
export const testPolicy = defaultTestPolicy();

export interface HarnessOptions extends Partial<Omit<ApiOptions, 'engine'>> {
  /** Default `fake`. */
  runtime?: RuntimeKind;
  maxSandboxes?: number;
  policy?: Partial<SandboxPolicy>;
  clock?: Clock;
  /** The engine's bounds on what it collects from a sandbox. */
  limits?: Partial<EngineLimits>;
  hooks?: SandboxHooks[];
  /** Builds the engine's S3 storage over the harness's runtime and store. */
  s3?: (deps: { runtime: Runtime; store: SqliteStore }) => S3Sync;
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
  kind: RuntimeKind;
  url: string;
  app: FastifyInstance;
  engine: Engine;
  runtime: Runtime;
  /** The fake runtime (unit tier only), for what only a double can do (simulated deaths). */
  fake: FakeRuntime | undefined;
  store: SqliteStore;
  metrics: PrometheusMetrics;
  network: SandboxNetwork;
  publisher: PortPublisher;
  /** The policy's default image (a busybox on Docker). */
  image: string;
  /** Another image that exists (Debian, with python3, on Docker). */
  otherImage: string;
  /** An image whose user is `sandbox` (uid 1000); made on first use on Docker. */
  userImage(): Promise<string>;
  /** Stored keys (API_KEY is the config file's admin key). */
  keys: KeyService;
  callers: CallerContext;
  /** fetch with the API key (unless `headers` override it). */
  call(path: string, init?: RequestInit): Promise<Response>;
  /** A fresh running sandbox's id. */
  sandbox(input?: CreateSandboxInput): Promise<string>;
  /** How many processes in the sandbox run exactly `argv`. */
  processes(id: string, argv: string[]): Promise<number>;
  /** Removes a named volume sandboxes used (Docker keeps them after the sandboxes are gone). */
  removeVolume(name: string): Promise<void>;
  ws(path: string, headers?: Record<string, string>): WebSocket;
  close(): Promise<void>;
}

interface Backend {
  runtime: Runtime;
  fake: FakeRuntime | undefined;
  store: SqliteStore;
  image: string;
  otherImage: string;
  userImage(): Promise<string>;
  processes(id: string, argv: string[]): Promise<number>;
  removeVolume(name: string): Promise<void>;
  /** Removes what the backend made once the engine's sandboxes are gone. */
  dispose(): Promise<void>;
}

function fakeBackend(): Backend {
  const fake = new FakeRuntime();
  return {
    runtime: fake,
    fake,
    store: new SqliteStore(':memory:'),
    image: 'fake/image',
    otherImage: 'fake/other',
    userImage: () => Promise.resolve(FAKE_USER_IMAGE),
    processes: (id, argv) => Promise.resolve(fake.processList(id).filter((cmd) => same(cmd, argv)).length),
    removeVolume: () => Promise.resolve(),
    dispose: () => Promise.resolve(),
  };
}

function same(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((word, index) => word === b[index]);
}

/** Counts processes by their exact command line, read from /proc (busybox and Debian both have sh and tr). */
const COUNT_PROCESSES =
  'n=0; for f in /proc/[0-9]*/cmdline; do c=$(tr "\\000" "\\001" < "$f" 2>/dev/null); [ "$c" = "$1" ] && n=$((n+1)); done; echo $n';

async function dockerBackend(): Promise<Backend> {
  const { runtime, cleanup } = await testDockerRuntime('socket');
  const dir = await mkdtemp(join(tmpdir(), 'burrow-api-test-'));
  let user: Promise<Awaited<ReturnType<typeof testUserImage>>> | undefined;
  return {
    runtime,
    fake: undefined,
    store: new SqliteStore(join(dir, 'burrow.db')),
    image: BUSYBOX_IMAGE,
    otherImage: DEBIAN_IMAGE,
    userImage: async () => (await (user ??= testUserImage())).image,
    processes: async (id, argv) => {
      const wanted = `${argv.join('\u0001')}\u0001`;
      const result = await runtime.exec(id, { cmd: ['sh', '-c', COUNT_PROCESSES, 'sh', wanted] });
      return Number(result.stdout.toString().trim());
    },
    removeVolume: (name) =>
      new Dockerode()
        .getVolume(dockerVolumeName(name))
        .remove()
        .then(() => undefined),
    dispose: async () => {
      for (const snapshot of await runtime.listSnapshots())
        await runtime.removeSnapshot(snapshot.id).catch(() => undefined);
      for (const info of await runtime.list()) await runtime.remove(info.id);
      await cleanup();
      if (user !== undefined) await (await user).remove().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startApi(harnessOptions: HarnessOptions = {}): Promise<Harness> {
  const {
    runtime: kind = 'fake',
    maxSandboxes,
    policy,
    clock,
    hooks,
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
  const backend = kind === 'docker' ? await dockerBackend() : fakeBackend();
  const { runtime, store } = backend;
  // Published ports, previews and egress as main.ts wires them.
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
    policy: { ...testPolicy, defaultImage: backend.image, ...policy },
    maxSandboxes: maxSandboxes ?? 50,
    logger: silentLogger,
    ...(clock === undefined ? {} : { clock }),
    ...(limits === undefined ? {} : { limits }),
    hooks: [network, ...(hooks ?? [])],
    ...(s3 === undefined ? {} : { s3: s3({ runtime, store }) }),
    metrics,
    ...(quotas === undefined ? {} : { quotas }),
    callers,
    auditor,
    ...engineOptions,
  });
  metrics.attach(engine, runtime);
  // As in production: the status watcher keeps each record true to the runtime's events.
  const watcher = new StatusWatcher(engine, runtime, silentLogger);
  watcher.start();
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
    kind,
    url: address,
    app,
    engine,
    runtime,
    fake: backend.fake,
    store,
    metrics,
    network,
    publisher,
    image: backend.image,
    otherImage: backend.otherImage,
    userImage: backend.userImage,
    keys,
    callers,
    call,
    sandbox: async (input = {}) => (await engine.create(input)).id,
    processes: backend.processes,
    removeVolume: backend.removeVolume,
    ws: (path, headers = { 'x-api-key': API_KEY }) =>
      new WebSocket(`${address.replace('http', 'ws')}${path}`, { headers }),
    close: async () => {
      // fetch may hold a spare connection that never sends a request; do not wait for it to time out.
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
      await watcher.stop();
      for (const snapshot of store.listSnapshots())
        await engine.deleteSnapshot(snapshot.id).catch(() => undefined);
      for (const record of engine.list()) await engine.destroy(record.id).catch(() => undefined);
      await publisher.close();
      await backend.dispose();
      store.close();
    },
  };
}

/** The fake runtime of a unit-tier harness, for what only the double can do (serve a port, simulate a death). */
export function fakeOf(harness: Harness): FakeRuntime {
  if (harness.fake === undefined) throw new Error('this case needs the fake runtime: mark it fakeOnly');
  return harness.fake;
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
