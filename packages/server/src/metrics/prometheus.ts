/**
 * `GET /metrics` in Prometheus' text format, through prom-client on a registry of its own (no global one).
 * Counters come from the engine (EngineMetrics) and the HTTP layer; gauges are read at scrape time. Per-sandbox
 * series (CPU, memory) are labelled by sandbox id and bounded: only running sandboxes, at most `maxSandboxSeries`
 * of them (the most recently used), from a cache refreshed at most every `sandboxRefreshMs` so that a scrape
 * never waits on many engine calls. Per-tenant series (use and quotas) are labelled by tenant, as many as there
 * are tenants. A scrape sees every tenant: the route is for admin keys (or open, when the operator says so).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { SYSTEM_CALLER } from '../engine/caller.js';
import type { Engine } from '../engine/engine.js';
import { lastUse } from '../engine/lifetimes.js';
import type { CreateSource, EngineMetrics } from '../engine/metrics.js';
import { LEVELS } from '../engine/pressure/levels.js';
import type { PressureMonitor } from '../engine/pressure/monitor.js';
import type { Runtime } from '../runtime/runtime.js';

export interface PrometheusMetricsOptions {
  /** Most sandboxes with their own CPU and memory series; default 50. */
  maxSandboxSeries?: number;
  /** How old cached per-sandbox figures may be before a scrape refreshes them; default 15 s. */
  sandboxRefreshMs?: number;
  /** Longest a scrape waits for that refresh; default 3 s (older figures are served after that). */
  refreshWaitMs?: number;
}

interface SandboxFigures {
  cpuPercent: number;
  memoryBytes: number;
}

/** The HTTP layer's part: one call per finished request. */
export interface HttpMetrics {
  request(method: string, route: string, status: number, seconds: number): void;
}

const SANDBOX_STATUSES = ['creating', 'running', 'paused', 'stopped', 'error'] as const;

export class PrometheusMetrics implements EngineMetrics, HttpMetrics {
  readonly registry = new Registry();
  private readonly creates: Counter<'source'>;
  private readonly createFailures: Counter<'source'>;
  private readonly destroys: Counter<'reason'>;
  private readonly execs: Counter<'kind'>;
  private readonly execSeconds: Histogram;
  private readonly fileBytesTotal: Counter<'direction'>;
  private readonly warmPoolTotal: Counter<'result'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route'>;
  private figures = new Map<string, SandboxFigures>();
  private refreshedAt = 0;
  private refreshing: Promise<void> | undefined;
  private readonly maxSandboxSeries: number;
  private readonly sandboxRefreshMs: number;
  private readonly refreshWaitMs: number;
  private engine: Engine | undefined;
  private runtime: Runtime | undefined;
  private pressure: PressureMonitor | undefined;

  constructor(options: PrometheusMetricsOptions = {}) {
    this.maxSandboxSeries = options.maxSandboxSeries ?? 50;
    this.sandboxRefreshMs = options.sandboxRefreshMs ?? 15_000;
    this.refreshWaitMs = options.refreshWaitMs ?? 3000;
    const registers = [this.registry];
    this.creates = new Counter({
      name: 'burrow_sandbox_creates_total',
      help: 'Sandboxes created, by how (create, restore, fork)',
      labelNames: ['source'],
      registers,
    });
    this.createFailures = new Counter({
      name: 'burrow_sandbox_create_failures_total',
      help: 'Sandbox creations that failed after admission, by how',
      labelNames: ['source'],
      registers,
    });
    this.destroys = new Counter({
      name: 'burrow_sandbox_destroys_total',
      help: 'Sandboxes destroyed, by reason (request, expired)',
      labelNames: ['reason'],
      registers,
    });
    this.execs = new Counter({
      name: 'burrow_exec_total',
      help: 'Commands run: sync (POST /exec, MCP) or stream (WebSocket)',
      labelNames: ['kind'],
      registers,
    });
    this.execSeconds = new Histogram({
      name: 'burrow_exec_duration_seconds',
      help: 'Duration of synchronous execs, from request to exit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.fileBytesTotal = new Counter({
      name: 'burrow_file_bytes_total',
      help: 'Bytes written into (in) and read out of (out) sandboxes through the file API',
      labelNames: ['direction'],
      registers,
    });
    this.warmPoolTotal = new Counter({
      name: 'burrow_warm_pool_requests_total',
      help: 'Creates the warm pool served (hit) or could not serve (miss)',
      labelNames: ['result'],
      registers,
    });
    this.httpRequests = new Counter({
      name: 'burrow_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'burrow_http_request_duration_seconds',
      help: 'HTTP request duration by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    for (const source of ['create', 'restore', 'fork']) {
      this.creates.labels(source).inc(0);
      this.createFailures.labels(source).inc(0);
    }
    this.gauges();
  }

  /** Connects the scrape-time gauges to the server's parts (they read zeros until then). */
  attach(engine: Engine, runtime: Runtime, pressure?: PressureMonitor): void {
    this.engine = engine;
    this.runtime = runtime;
    this.pressure = pressure;
  }

  // ---------------------------------------------------------------- EngineMetrics and HttpMetrics

  sandboxCreated(source: CreateSource): void {
    this.creates.labels(source).inc();
  }
  sandboxCreateFailed(source: CreateSource): void {
    this.createFailures.labels(source).inc();
  }
  sandboxDestroyed(reason: 'request' | 'expired'): void {
    this.destroys.labels(reason).inc();
  }
  exec(kind: 'sync' | 'stream', seconds?: number): void {
    this.execs.labels(kind).inc();
    if (seconds !== undefined) this.execSeconds.observe(seconds);
  }
  fileBytes(direction: 'in' | 'out', bytes: number): void {
    this.fileBytesTotal.labels(direction).inc(bytes);
  }
  warmPool(result: 'hit' | 'miss'): void {
    this.warmPoolTotal.labels(result).inc();
  }
  request(method: string, route: string, status: number, seconds: number): void {
    this.httpRequests.labels(method, route, String(status)).inc();
    this.httpSeconds.labels(method, route).observe(seconds);
  }

  /** The exposition text; refreshes per-sandbox figures first when they are stale. */
  async text(): Promise<string> {
    const scrape = async () => {
      await this.refreshSandboxes();
      return this.registry.metrics();
    };
    return this.engine === undefined ? scrape() : this.engine.tenancy.callers.run(SYSTEM_CALLER, scrape);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // ---------------------------------------------------------------- scrape-time gauges

  private gauges(): void {
    const registers = [this.registry];
    const sandboxes: Gauge<'status'> = new Gauge({
      name: 'burrow_sandboxes',
      help: 'Sandboxes by status',
      labelNames: ['status'],
      registers,
      collect: () => {
        const counts = new Map<string, number>(SANDBOX_STATUSES.map((status) => [status, 0]));
        for (const record of this.engine?.list() ?? [])
          counts.set(record.status, (counts.get(record.status) ?? 0) + 1);
        for (const [status, count] of counts) sandboxes.labels(status).set(count);
      },
    });
    const level: Gauge = new Gauge({
      name: 'burrow_memory_pressure_level',
      help: `Confirmed memory-pressure level: ${LEVELS.map((name, index) => `${index} ${name}`).join(', ')}`,
      registers,
      collect: () => level.set(LEVELS.indexOf(this.pressure?.level ?? 'normal')),
    });
    const score: Gauge = new Gauge({
      name: 'burrow_memory_pressure_score',
      help: 'Share of host memory in use, (total - MemAvailable) / total, at the latest sample',
      registers,
      collect: () => score.set(this.pressure?.state().score ?? 0),
    });
    const throttled: Gauge = new Gauge({
      name: 'burrow_memory_pressure_throttled_sandboxes',
      help: 'Sandboxes under the soft memory limit of the pressure monitor',
      registers,
      collect: () => throttled.set(this.pressure?.state().throttled ?? 0),
    });
    const tenantUsage = () => this.engine?.tenantUsage() ?? [];
    const tenantSandboxes: Gauge<'tenant'> = new Gauge({
      name: 'burrow_tenant_sandboxes',
      help: "A tenant's sandboxes at once (creating, running and paused), as its quota counts them",
      labelNames: ['tenant'],
      registers,
      collect: () => {
        tenantSandboxes.reset();
        for (const entry of tenantUsage()) tenantSandboxes.labels(entry.tenant).set(entry.use.sandboxes);
      },
    });
    const tenantMemory: Gauge<'tenant'> = new Gauge({
      name: 'burrow_tenant_memory_bytes',
      help: "Memory limits of a tenant's active sandboxes together, as its quota counts them",
      labelNames: ['tenant'],
      registers,
      collect: () => {
        tenantMemory.reset();
        for (const entry of tenantUsage()) tenantMemory.labels(entry.tenant).set(entry.use.memoryBytes);
      },
    });
    const tenantCpu: Gauge<'tenant'> = new Gauge({
      name: 'burrow_tenant_cpu_cores',
      help: "CPU limits of a tenant's active sandboxes together, in cores, as its quota counts them",
      labelNames: ['tenant'],
      registers,
      collect: () => {
        tenantCpu.reset();
        for (const entry of tenantUsage()) tenantCpu.labels(entry.tenant).set(entry.use.cpu / 1e9);
      },
    });
    const tenantSnapshots: Gauge<'tenant'> = new Gauge({
      name: 'burrow_tenant_snapshots',
      help: "A tenant's stored snapshots",
      labelNames: ['tenant'],
      registers,
      collect: () => {
        tenantSnapshots.reset();
        for (const entry of tenantUsage()) tenantSnapshots.labels(entry.tenant).set(entry.use.snapshots);
      },
    });
    const tenantQuota: Gauge<'tenant' | 'quota'> = new Gauge({
      name: 'burrow_tenant_quota',
      help: "A tenant's quotas (0 = none): sandboxes, memory_bytes, cpu_cores, snapshots",
      labelNames: ['tenant', 'quota'],
      registers,
      collect: () => {
        tenantQuota.reset();
        for (const { tenant, quota } of tenantUsage()) {
          tenantQuota.labels(tenant, 'sandboxes').set(quota.sandboxes);
          tenantQuota.labels(tenant, 'memory_bytes').set(quota.memoryBytes);
          tenantQuota.labels(tenant, 'cpu_cores').set(quota.cpu / 1e9);
          tenantQuota.labels(tenant, 'snapshots').set(quota.snapshots);
        }
      },
    });
    const cpu: Gauge<'sandbox'> = new Gauge({
      name: 'burrow_sandbox_cpu_percent',
      help: 'CPU use of a running sandbox, percent of one core (a bounded set of sandboxes)',
      labelNames: ['sandbox'],
      registers,
      collect: () => {
        cpu.reset();
        for (const [id, figures] of this.figures) cpu.labels(id).set(figures.cpuPercent);
      },
    });
    const memory: Gauge<'sandbox'> = new Gauge({
      name: 'burrow_sandbox_memory_bytes',
      help: 'Memory use of a running sandbox in bytes (a bounded set of sandboxes)',
      labelNames: ['sandbox'],
      registers,
      collect: () => {
        memory.reset();
        for (const [id, figures] of this.figures) memory.labels(id).set(figures.memoryBytes);
      },
    });
  }

  private async refreshSandboxes(): Promise<void> {
    if (this.engine === undefined || Date.now() - this.refreshedAt < this.sandboxRefreshMs) return;
    this.refreshing ??= this.collectSandboxes().finally(() => {
      this.refreshing = undefined;
      this.refreshedAt = Date.now();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.refreshing,
      new Promise((resolve) => (timer = setTimeout(resolve, this.refreshWaitMs))),
    ]).finally(() => clearTimeout(timer));
  }

  private async collectSandboxes(): Promise<void> {
    const engine = this.engine;
    const runtime = this.runtime;
    if (engine === undefined || runtime === undefined) return;
    const running = engine
      .list()
      .filter((record) => record.status === 'running')
      .sort((a, b) => lastUse(b).getTime() - lastUse(a).getTime())
      .slice(0, this.maxSandboxSeries);
    const next = new Map<string, SandboxFigures>();
    // Two at a time: each engine stats call samples CPU over about a second.
    const queue = [...running];
    const worker = async () => {
      for (let record = queue.shift(); record !== undefined; record = queue.shift()) {
        try {
          const stats = await runtime.stats(record.id);
          next.set(record.id, { cpuPercent: stats.cpuPercent, memoryBytes: stats.memoryUsage });
        } catch {
          // Gone or stopped meanwhile: no series.
        }
      }
    };
    await Promise.all([worker(), worker()]);
    this.figures = next;
  }
}
