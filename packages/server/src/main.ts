/**
 * The composition root: config -> logger -> store -> runtime -> engine -> HTTP. The only place that knows the
 * concrete backends.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BurrowError } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger as PinoLogger } from 'pino';
import { PinoPretty } from 'pino-pretty';
import { lookup } from 'node:dns/promises';
import { buildApp } from './api/app.js';
import { hasDashboard } from './api/routes/dashboard.js';
import { checkBindSafety, describeConfig, hostEnvironment, type Config } from './config.js';
import { assertReadyToServe } from './doctor/doctor.js';
import { CODE_INTERPRETER_IMAGE, E2bEndpoint, TemplateImages } from './e2b/index.js';
import { admit, type SandboxPolicy } from './engine/admission.js';
import { Auditor } from './engine/audit.js';
import { CallerContext, canSee } from './engine/caller.js';
import { withinDeadline } from './engine/deadline.js';
import { Engine } from './engine/engine.js';
import { scoreThresholds } from './engine/pressure/levels.js';
import { PressureMonitor } from './engine/pressure/monitor.js';
import { pressureTargets } from './engine/pressure/targets.js';
import { KeyService } from './engine/keys.js';
import { Quotas, tenantOf } from './engine/quotas.js';
import { Reaper } from './engine/reaper.js';
import { reconcile } from './engine/reconcile.js';
import { S3Sync } from './engine/s3-sync.js';
import { StatusWatcher } from './engine/status-watcher.js';
import { WarmPool, warmPoolSpecs } from './engine/warm-pool.js';
import { ProcHostMemory } from './host/host-memory.js';
import { buildsDefaultImage, ensureDefaultImage } from './images/default-image.js';
import type { Logger } from './logger.js';
import { logProgress, type ProgressFactory } from './progress/progress.js';
import { loopbackUrl, mountMcp } from './mcp-endpoint.js';
import { readyLogFields, renderReadyBlock, type ReadyFacts } from './ready.js';
import { PrometheusMetrics } from './metrics/prometheus.js';
import { AddressGuard } from './proxy/address-guard.js';
import { CertificateFactory } from './proxy/egress-ca.js';
import { EgressInterceptor } from './proxy/egress-intercept.js';
import { checkPolicy, parseCidr, type Cidr } from './proxy/egress-policy.js';
import { EgressProxy, type Resolver } from './proxy/egress-proxy.js';
import { PortPublisher } from './proxy/port-publisher.js';
import { PreviewAccess } from './proxy/preview-access.js';
import { PreviewProxy } from './proxy/preview-proxy.js';
import { PreviewRoutes } from './proxy/preview-target.js';
import { SandboxNetwork } from './proxy/sandbox-network.js';
import { BridgeFirewall } from './runtime/docker/bridge-firewall.js';
import { DockerRuntime } from './runtime/docker/docker-runtime.js';
import type { SandboxInfo } from './runtime/runtime.js';
import { resourcesReport } from './resources-report.js';
import { s3Storage } from './s3-setup.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { BURROW_VERSION } from './version.js';

/** How long shutdown waits for one of its steps (closing the API, the reaper's sweep, ...) before moving on. */
const SHUTDOWN_STEP_MS = 10_000;

export interface RunningServer {
  url: string;
  /** Where a browser opens the dashboard (on this machine); undefined when the web assets were not built. */
  dashboardUrl: string | undefined;
  engine: Engine;
  app: FastifyInstance;
  logger: Logger;
  /** What a person needs to start using it (the ready block of `burrow serve`). */
  ready: ReadyFacts;
  /** The E2B-compatible endpoint, when `e2b.enabled`. */
  e2b: E2bEndpoint | undefined;
  /** Stops serving; sandboxes keep running unless `destroy_on_exit` (or `destroySandboxes`) says otherwise. */
  close(options?: { destroySandboxes?: boolean }): Promise<void>;
}

export interface StartOptions {
  /** Where logs go; defaults to stdout (pretty text or JSON per `log.format`). */
  logger?: PinoLogger;
  /** Shows the progress of long work at start (the default image build); default: log lines at an interval. */
  progress?: ProgressFactory;
}

export function createLogger(config: Config, destination?: NodeJS.WritableStream): PinoLogger {
  const redact = {
    paths: [
      '*.api_key',
      '*.apiKey',
      '*.secret_key',
      '*.secretKey',
      '*.access_key',
      '*.accessKey',
      'req.headers["x-api-key"]',
      'req.headers.authorization',
      'req.headers.cookie',
      'req.headers["x-burrow-preview-token"]',
      '*.token',
      '*.secrets[*].value',
    ],
    censor: '***',
  };
  if (config.log.format === 'json')
    return pino({ level: config.log.level, redact }, destination ?? process.stdout);
  // Synchronous, in this thread: text lines then appear in order with the progress display and the ready block.
  const pretty = PinoPretty({
    colorize: process.stdout.isTTY,
    ignore: 'pid,hostname',
    sync: true,
    ...(destination === undefined ? {} : { destination }),
  });
  return pino({ level: config.log.level, redact }, pretty);
}

/** A command that tries the server end to end: the quickstart example of this checkout, by absolute path. */
function tryCommand(url: string): string {
  const example = fileURLToPath(new URL('../../../examples/quickstart.mjs', import.meta.url));
  if (existsSync(example)) return `BURROW_URL=${url} node ${example}`;
  return `curl -s -X POST ${url}/api/v1/sandboxes -H 'X-API-Key: ...' -d '{}'`;
}

/** The dashboard's built assets (packages/web, a dependency of this package), when they were built. */
function dashboardDir(): string | undefined {
  try {
    const dir = join(dirname(createRequire(import.meta.url).resolve('@burrow/web/package.json')), 'dist');
    return hasDashboard(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** The secret E2B access tokens are derived from; kept in the data directory so tokens survive a restart. */
function e2bSecret(dataDir: string): Buffer {
  const file = join(dataDir, 'e2b-secret');
  try {
    const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
    if (secret.length >= 32) return secret;
  } catch {
    // made below
  }
  const secret = randomBytes(32);
  writeFileSync(file, `${secret.toString('hex')}\n`, { mode: 0o600 });
  return secret;
}

/** A stable name for this data directory, stamped on every resource it creates. */
function instanceId(dataDir: string): string {
  const file = join(dataDir, 'instance');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const id = randomBytes(6).toString('hex');
    writeFileSync(file, `${id}\n`, { mode: 0o600 });
    return id;
  }
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config);
  checkBindSafety(config);
  logger.info({ config: describeConfig(config) }, 'configuration');
  if (!config.auth.enabled)
    logger.warn({}, 'authentication is off: the API is open to anyone who can reach it (loopback only)');

  const host = hostEnvironment();
  mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
  const instance = instanceId(config.data_dir);
  const store = new SqliteStore(config.store.path);
  // Each request's caller, carried to the engine; outside requests (reaper, warm pool, reconcile, status watcher,
  // shutdown) calls run as the system.
  const callers = new CallerContext();
  const auditor = new Auditor({
    store: store.audit,
    callers,
    logger: logger.child({ component: 'audit' }),
    retentionMs: config.audit.retention,
  });
  const keys = new KeyService({
    store: store.keys,
    configKeys: config.auth.api_keys,
    logger: logger.child({ component: 'keys' }),
    auditor,
  });
  if (config.auth.enabled && !keys.hasKeys()) {
    store.close();
    throw new BurrowError(
      'VALIDATION_FAILED',
      'auth is enabled but there is no API key: add auth.api_keys (or --api-key), or create one with ' +
        '"burrow keys create --name <name> --admin"',
    );
  }
  const transport = config.runtime.agent_transport === 'auto' ? undefined : config.runtime.agent_transport;
  // The egress proxy reads each sandbox's policy from `network` (made below, once the engine exists).
  const late: { network?: SandboxNetwork } = {};
  const egress = egressProxy(config, logger.child({ component: 'egress' }), {
    lookup: (id) => late.network?.egressOf(id),
    context: (id, host) => {
      if (late.network === undefined) throw new Error('the server is still starting');
      return late.network.context(id, host);
    },
  });
  const runtime = await DockerRuntime.open({
    stateDir: join(config.data_dir, 'runtime'),
    instance,
    networkPrefix: config.runtime.network_id,
    defaultTmpfs: config.sandbox.default_tmpfs,
    logger: logger.child({ component: 'runtime' }),
    egress: (id, connection) => egress.proxy.handle(id, connection),
    ...(config.network.bridge_firewall
      ? {
          bridgeFirewall: new BridgeFirewall({
            allowRanges: config.network.allow_private,
            logger: logger.child({ component: 'firewall' }),
          }),
        }
      : {}),
    ...(transport === undefined ? {} : { transport }),
    ...(host.dockerHost === undefined ? {} : { dockerHost: host.dockerHost }),
  });
  await runtime.ping();
  logger.info(
    { transport: runtime.transport },
    runtime.transport === 'socket'
      ? 'exec and files use the in-sandbox agent socket (fast path)'
      : runtime.transport === 'exec'
        ? 'exec and files use the in-sandbox agent through the Docker Engine API (docker exec)'
        : "exec and files use the Docker Engine API without the agent (docker exec of the image's shell and tools)",
  );
  if (buildsDefaultImage(config)) {
    const imageLogger = logger.child({ component: 'image' });
    await ensureDefaultImage({
      image: config.sandbox.default_image,
      logger: imageLogger,
      context: config.sandbox.default_image_context,
      progress: options.progress ?? logProgress(imageLogger),
    });
  }

  const templates = new TemplateImages(config.sandbox.default_image, config.e2b.templates);
  if (
    config.e2b.enabled &&
    config.e2b.build_images &&
    templates.entries().some(([, image]) => image === CODE_INTERPRETER_IMAGE)
  ) {
    const imageLogger = logger.child({ component: 'image' });
    await ensureDefaultImage({
      image: CODE_INTERPRETER_IMAGE,
      recipe: 'code-interpreter',
      logger: imageLogger,
      progress: options.progress ?? logProgress(imageLogger),
    });
  }

  const policy: SandboxPolicy = {
    defaultImage: config.sandbox.default_image,
    defaultTimeoutMs: config.sandbox.default_timeout,
    maxTimeoutMs: config.sandbox.max_timeout,
    defaultCpu: config.sandbox.default_cpu,
    defaultMemory: config.sandbox.default_memory,
    defaultPidLimit: config.sandbox.default_pid_limit,
    defaultNetworkMode: config.runtime.default_network_mode,
    defaultTmpfs: config.sandbox.default_tmpfs,
    allowVolumes: config.sandbox.allow_volumes,
    allowSharedVolumes: config.sandbox.allow_shared_volumes,
    maxVolumesPerSandbox: config.sandbox.max_volumes_per_sandbox,
    allowS3: config.sandbox.allow_s3,
    allowS3Fuse: config.sandbox.allow_s3_fuse,
    defaultRuntime: config.sandbox.default_runtime,
    allowedRuntimes: config.sandbox.allowed_runtimes,
    // 0 means "the whole host": a request never gets more than the host has, nor "unlimited".
    maxMemory: config.sandbox.max_memory > 0 ? config.sandbox.max_memory : totalmem(),
    maxCpu: config.sandbox.max_cpu > 0 ? config.sandbox.max_cpu : cpus().length * 1e9,
    maxPidLimit: config.sandbox.max_pid_limit,
    maxTmpfsBytes: config.sandbox.max_tmpfs_total,
    hostPortRange: config.sandbox.host_port_range,
    ...(config.network.egress_allow.length === 0
      ? {}
      : { defaultEgress: checkPolicy({ allow: config.network.egress_allow }, 'network.egress_allow') }),
  };
  // The monitor acts on the engine, and the engine and the warm pool ask the monitor: created once both exist.
  const held: { monitor?: PressureMonitor } = {};
  const metrics = new PrometheusMetrics();
  const warmPool = new WarmPool({
    runtime,
    pools: warmPoolSpecs(
      config.sandbox.default_image,
      config.sandbox.warm_pool_size,
      config.sandbox.warm_pools,
    ),
    profile: (image, isolation) =>
      admit({ image, ...(isolation === undefined ? {} : { runtime: isolation }) }, policy).config,
    defaultTmpfs: config.sandbox.default_tmpfs,
    logger: logger.child({ component: 'warm-pool' }),
    // The warm pool is the first thing to give back under pressure (level high and above).
    memoryShort: () => held.monitor?.memoryShort() ?? false,
  });
  const s3 = new S3Sync({
    runtime,
    store,
    ...(await s3Storage(config, logger.child({ component: 's3' }), host.path)),
  });
  const networkLogger = logger.child({ component: 'network' });
  const publisher = new PortPublisher({
    connect: (id, port) => engine.connectPort(id, port),
    logger: networkLogger,
  });
  const previewRoutes = new PreviewRoutes({
    domain: config.network.preview_domain,
    scheme: config.network.preview_scheme,
    port: config.network.preview_port,
    loopbackOnly: !config.auth.enabled,
  });
  const sandboxNetwork = new SandboxNetwork({
    store,
    runtime,
    publisher,
    certificates: new CertificateFactory(),
    routes: previewRoutes,
    serverDeny: checkPolicy({ deny: config.network.egress_deny }, 'network').deny,
    authEnabled: config.auth.enabled,
    defaultTokenTtlMs: config.network.preview_token_ttl,
    refusals: egress.proxy,
    logger: networkLogger,
    // Its API calls (ports, previews, egress) find the caller's tenant's sandboxes only, as the engine's do.
    visible: (record) => canSee(callers.current(), tenantOf(record)),
  });
  late.network = sandboxNetwork;
  const engine: Engine = new Engine({
    runtime,
    store,
    maxSandboxes: config.sandbox.max_sandboxes,
    logger: logger.child({ component: 'engine' }),
    policy,
    warmPool,
    s3,
    limits: {
      maxOutputBytes: config.exec.max_output_bytes,
      maxListEntries: config.server.max_list_entries,
    },
    // The S3 upload at destroy has its own budget; a destroy is stuck only well past it.
    destroyDeadlineMs: config.s3.sync_timeout + 60_000,
    processBufferBytes: config.processes.output_buffer_bytes,
    lifetimes: {
      autoResume: config.sandbox.auto_resume,
      idleTimeoutMs: config.sandbox.idle_timeout,
      // An activity extension never takes a lifetime past the longest a create may ask for.
      maxLifetimeMs: config.sandbox.max_timeout,
      idleAction: config.sandbox.idle_action,
      idleActionAfterMs: config.sandbox.idle_action_after,
      expireWhilePaused: config.sandbox.expire_while_paused,
    },
    admissionGate: () => held.monitor?.checkCanCreate(),
    metrics,
    hooks: [sandboxNetwork],
    callers,
    quotas: tenantQuotas(config, policy.maxCpu),
    auditor,
  });
  const resource = config.resource;
  const pressure = new PressureMonitor({
    source: new ProcHostMemory(),
    targets: pressureTargets(engine, runtime),
    scoreThresholds: scoreThresholds(resource.pressure_threshold, resource.critical_threshold),
    stallThresholds: {
      warning: resource.psi_warning,
      high: resource.psi_high,
      critical: resource.psi_critical,
    },
    intervalMs: resource.monitor_interval,
    autoThrottle: resource.enable_auto_throttle,
    minMemoryFloor: resource.min_memory_floor,
    pauseIdleAfterMs: resource.pause_idle_after,
    clock: { now: () => new Date() },
    logger: logger.child({ component: 'pressure' }),
  });
  held.monitor = pressure;
  metrics.attach(engine, runtime, pressure);
  // Unrecorded warm-pool members a previous run left are the pool's to adopt or remove, not orphans.
  const poolLeftovers: SandboxInfo[] = [];
  await reconcile(runtime, store, logger.child({ component: 'reconcile' }), {
    isForeign: (info) => info.pool !== undefined && poolLeftovers.push(info) > 0,
  });
  await warmPool.start(poolLeftovers);
  await sandboxNetwork.restore(store.listSandboxes());
  await s3.reconcileMounts(store.listSandboxes());
  const watcher = new StatusWatcher(engine, runtime, logger.child({ component: 'status' }));
  watcher.start();
  pressure.start();
  const reaper = new Reaper(engine, config.sandbox.reaper_interval, logger.child({ component: 'reaper' }));
  reaper.start();
  auditor.start();
  keys.start();

  const dashboard = dashboardDir();
  const previewProxy = new PreviewProxy({
    routes: previewRoutes,
    access: new PreviewAccess({
      authEnabled: config.auth.enabled,
      // A key opens previews of the sandboxes it sees: its tenant's (an admin key: all).
      checkApiKey: (key, sandboxId) => engine.keyReach(keys.resolve(key), sandboxId),
      tokenKey: (id) => sandboxNetwork.tokenKey(id),
      isPublic: (id, port) => sandboxNetwork.isPublic(id, port),
    }),
    connect: (id, port) => engine.connectPort(id, port),
    logger: logger.child({ component: 'preview' }),
  });
  const app = await buildApp({
    engine,
    logger,
    auth: { enabled: config.auth.enabled, apiKeys: config.auth.api_keys, keys },
    callers,
    tenancy: { keys, auditor },
    rateLimitFor: (caller) => {
      const own = config.tenancy.tenants[caller.tenant];
      if (own?.rate_limit_rps === undefined && own?.rate_limit_burst === undefined) return undefined;
      return {
        rps: own.rate_limit_rps ?? config.server.rate_limit_rps,
        burst: own.rate_limit_burst ?? config.server.rate_limit_burst,
      };
    },
    allowedOrigins: config.server.allowed_origins,
    rateLimit: { rps: config.server.rate_limit_rps, burst: config.server.rate_limit_burst },
    trustProxy: config.server.trust_proxy,
    maxFileBytes: config.server.max_file_bytes,
    maxJsonBytes: 1024 * 1024,
    slowClients: {
      headerTimeoutMs: config.server.header_timeout,
      requestTimeoutMs: config.server.request_timeout,
      maxConnections: config.server.max_connections,
    },
    version: {
      version: BURROW_VERSION,
      commit: host.commit,
      buildDate: host.buildDate,
    },
    ping: () => runtime.ping(),
    // Runs inside the request: counts, sandboxes and tenants are the caller's (all of them for an admin key).
    resources: () =>
      Promise.resolve(resourcesReport(engine, pressure, warmPool, cpus().length, keys.tenants())),
    dashboardDir: dashboard,
    interactive: runtime.transport !== 'engine',
    metrics: {
      public: config.metrics.public,
      contentType: metrics.contentType,
      text: () => metrics.text(),
      request: (method, route, status, seconds) => metrics.request(method, route, status, seconds),
    },
    network: sandboxNetwork,
    preview: previewProxy,
  });
  let apiUrl = '';
  mountMcp(app, () => apiUrl);
  const address = await app.listen({ host: config.server.host, port: config.server.port });
  const url = address.replace('[::1]', '127.0.0.1');
  const bound = app.server.address();
  apiUrl = loopbackUrl(
    config.server.host,
    typeof bound === 'object' && bound !== null ? bound.port : config.server.port,
  );
  const dashboardUrl = dashboard === undefined ? undefined : `${apiUrl}/`;
  logger.info({ url, dashboard: dashboardUrl, version: BURROW_VERSION }, 'burrow server started');
  if (dashboardUrl === undefined)
    logger.warn({}, 'the dashboard is not built (npm run build builds packages/web): / answers 404');
  let e2b: E2bEndpoint | undefined;
  if (config.e2b.enabled) {
    e2b = await E2bEndpoint.start({
      engine,
      logger: logger.child({ component: 'e2b' }),
      // The API's keys, config and stored: the control plane runs each request as its key's caller.
      keys: { enabled: config.auth.enabled, resolve: (key) => keys.resolve(key) },
      secret: e2bSecret(config.data_dir),
      templates,
      host: config.e2b.host,
      port: config.e2b.port,
      domain: config.e2b.domain,
      writableRootfs: config.e2b.writable_rootfs,
      maxFileBytes: config.server.max_file_bytes,
      // getHost(port) traffic to any other port, the E2B endpoint having checked its own access token.
      previewProxy: previewProxy.forPorts(),
    }).catch(async (error: unknown) => {
      await app.close();
      throw error;
    });
  }
  const ready: ReadyFacts = {
    version: BURROW_VERSION,
    url: apiUrl,
    listen: url.replace(/^http:\/\//, ''),
    auth: { enabled: config.auth.enabled, keys: config.auth.api_keys.length + keys.liveCount() },
    tryCommand: tryCommand(apiUrl),
    ...(dashboardUrl === undefined ? {} : { dashboardUrl }),
    ...(e2b === undefined ? {} : { e2bExports: e2b.exports(config.auth.enabled) }),
  };

  let closing: Promise<void> | undefined;
  const close = (closeOptions: { destroySandboxes?: boolean } = {}) => {
    // Every step has a deadline: a stuck sandbox, request or engine call is logged and passed over, never waited on.
    const step = async (what: string, work: Promise<unknown>, ms: number) => {
      if (!(await withinDeadline(work, ms)).done)
        logger.error({ step: what, deadlineMs: ms }, 'a shutdown step did not finish in time: moving on');
    };
    closing ??= (async () => {
      if (e2b !== undefined) await step('closing the E2B endpoint', e2b.close(), SHUTDOWN_STEP_MS);
      const closingApp = app.close();
      if (!(await withinDeadline(closingApp, SHUTDOWN_STEP_MS)).done) {
        // Requests still running (a long exec, a transfer) are cut; their processes are killed on disconnect.
        logger.warn({}, 'requests still running at shutdown: closing their connections');
        app.server.closeAllConnections();
        await step('closing the API', closingApp, SHUTDOWN_STEP_MS);
      }
      await step('stopping the memory-pressure monitor', pressure.stop(), SHUTDOWN_STEP_MS);
      await step('stopping the reaper', reaper.stop(), SHUTDOWN_STEP_MS);
      await step('draining the warm pool', warmPool.drain(), 3 * SHUTDOWN_STEP_MS);
      await step('stopping the status watcher', watcher.stop(), SHUTDOWN_STEP_MS);
      if (closeOptions.destroySandboxes ?? config.destroy_on_exit) {
        // Each sandbox is waited for up to the engine's destroy deadline: a stuck one is logged, not waited on.
        const left = await engine.destroyAll();
        if (left.length > 0)
          logger.error({ sandboxes: left }, 'sandboxes not destroyed on exit: the next start finds them');
        await runtime.pruneNetworks().catch(() => undefined);
      }
      await publisher.close();
      egress.close();
      auditor.stop();
      keys.stop();
      runtime.close();
      store.close();
      logger.info({}, 'burrow server stopped');
    })();
    return closing;
  };
  return { url, dashboardUrl, engine, app, logger, ready, e2b, close };
}

/** The egress proxy with its resolver, address guard and HTTPS interceptor, as the configuration says. */
function egressProxy(
  config: Config,
  logger: Logger,
  sandboxes: {
    lookup: ConstructorParameters<typeof EgressProxy>[0]['lookup'];
    context: ConstructorParameters<typeof EgressInterceptor>[0]['context'];
  },
) {
  const fixed = new Map(
    config.network.egress_hosts.map((entry) => {
      const [name = '', address = ''] = entry.split('=');
      return [name.toLowerCase(), address] as const;
    }),
  );
  const resolver: Resolver = async (host) => {
    const answer = fixed.get(host);
    if (answer !== undefined) return [answer];
    return (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
  };
  let upstreamCa: string[] = [];
  if (config.network.egress_ca_file !== '') {
    try {
      upstreamCa = [readFileSync(config.network.egress_ca_file, 'utf8')];
    } catch (error) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `network.egress_ca_file: cannot read ${config.network.egress_ca_file}: ${(error as Error).message}`,
      );
    }
  }
  const interceptor = new EgressInterceptor({ context: sandboxes.context, upstreamCa, logger });
  const proxy = new EgressProxy({
    lookup: sandboxes.lookup,
    guard: new AddressGuard({
      allowRanges: config.network.allow_private
        .map((range) => parseCidr(range))
        .filter((range): range is Cidr => range !== undefined),
    }),
    resolver,
    interceptor,
    logger,
  });
  return {
    proxy,
    close: () => {
      proxy.close();
      interceptor.close();
    },
  };
}

/** Each tenant's quotas from the config file: the defaults, and a tenant's own over them. */
function tenantQuotas(config: Config, maxCpu: number): Quotas {
  const quota = (settings: {
    max_sandboxes?: number | undefined;
    max_memory?: number | undefined;
    max_cpu?: number | undefined;
    max_snapshots?: number | undefined;
  }) => ({
    ...(settings.max_sandboxes === undefined ? {} : { sandboxes: settings.max_sandboxes }),
    ...(settings.max_memory === undefined ? {} : { memoryBytes: settings.max_memory }),
    ...(settings.max_cpu === undefined ? {} : { cpu: settings.max_cpu }),
    ...(settings.max_snapshots === undefined ? {} : { snapshots: settings.max_snapshots }),
  });
  return new Quotas({
    defaultQuota: quota(config.tenancy),
    perTenant: Object.fromEntries(
      Object.entries(config.tenancy.tenants).map(([tenant, settings]) => [tenant, quota(settings)]),
    ),
    unlimitedCpu: maxCpu,
  });
}

/**
 * `burrow serve`: checks the host as `burrow doctor` does (the required checks; a failure stops it with the
 * doctor's lines), starts, says what to do next, and runs until SIGINT/SIGTERM.
 */
export async function serve(config: Config, options: StartOptions = {}): Promise<void> {
  await assertReadyToServe(config);
  const server = await startServer(config, options);
  if (config.log.format === 'json') server.logger.info(readyLogFields(server.ready), 'burrow ready');
  else process.stdout.write(`\n${renderReadyBlock(server.ready)}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      server.logger.info({ signal }, 'shutting down');
      void server.close().then(resolve, (error: unknown) => {
        server.logger.error({ err: error }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
