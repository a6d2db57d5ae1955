/** On the fake (prometheus.test.ts) and on Docker (prometheus.docker.test.ts). */
/** /metrics scraped over HTTP and read back with an exposition-format parser. */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../engine/engine.js';
import { silentLogger } from '../logger.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { testPolicy } from '../test-support/policy.js';
import { startApi, type Harness, type RuntimeKind } from '../api/test-support/harness.js';
import { PrometheusMetrics } from './prometheus.js';

type Families = ReturnType<typeof parsePrometheusTextFormat>;

function value(families: Families, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = families.find((entry) => entry.name === name);
  const sample = family?.metrics.find((metric) =>
    Object.entries(labels).every(([key, wanted]) => metric.labels?.[key] === wanted),
  );
  return sample?.value === undefined ? undefined : Number(sample.value);
}

export function prometheusRoutesSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind });
  });
  afterAll(() => api.close());

  async function scrape(harness: Harness, headers?: Record<string, string>): Promise<Families> {
    const response =
      headers === undefined
        ? await harness.call('/metrics')
        : await fetch(`${harness.url}/metrics`, { headers });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusTextFormat(await response.text());
  }

  describe('GET /metrics', () => {
    it('counts sandboxes, creates, destroys, execs, file bytes and HTTP requests', async () => {
      const a = await api.sandbox();
      const b = await api.sandbox();
      await api.engine.pause(b);
      const gone = await api.sandbox();
      await api.engine.destroy(gone);
      await api.call(`/api/v1/sandboxes/${a}/exec`, {
        method: 'POST',
        body: JSON.stringify({ cmd: ['echo', 'hi'] }),
      });
      await api.call(`/api/v1/sandboxes/${a}/files?path=/tmp/m`, { method: 'PUT', body: 'twelve bytes' });
      await (await api.call(`/api/v1/sandboxes/${a}/files?path=/tmp/m`)).arrayBuffer();
      await api.call('/api/v1/sandboxes/nope');

      const families = await scrape(api);
      expect(value(families, 'burrow_sandboxes', { status: 'running' })).toBe(1);
      expect(value(families, 'burrow_sandboxes', { status: 'paused' })).toBe(1);
      expect(value(families, 'burrow_sandboxes', { status: 'stopped' })).toBe(0);
      expect(value(families, 'burrow_sandbox_creates_total', { source: 'create' })).toBe(3);
      expect(value(families, 'burrow_sandbox_create_failures_total', { source: 'fork' })).toBe(0);
      expect(value(families, 'burrow_sandbox_destroys_total', { reason: 'request' })).toBe(1);
      expect(value(families, 'burrow_exec_total', { kind: 'sync' })).toBe(1);
      expect(value(families, 'burrow_file_bytes_total', { direction: 'in' })).toBe(12);
      expect(value(families, 'burrow_file_bytes_total', { direction: 'out' })).toBe(12);
      const histogram = families.find((family) => family.name === 'burrow_exec_duration_seconds');
      expect(histogram?.type).toBe('HISTOGRAM');
      expect(histogram?.metrics[0]?.count).toBe('1');
      expect(
        value(families, 'burrow_http_requests_total', {
          method: 'GET',
          route: '/api/v1/sandboxes/:id',
          status: '404',
        }),
      ).toBe(1);
      expect(value(families, 'burrow_memory_pressure_level')).toBe(0);
      // The per-sandbox series cover the running sandbox only.
      expect(value(families, 'burrow_sandbox_memory_bytes', { sandbox: a })).toBeGreaterThanOrEqual(0);
      expect(value(families, 'burrow_sandbox_cpu_percent', { sandbox: b })).toBeUndefined();
      await api.engine.destroy(a);
      await api.engine.destroy(b);
    });

    it('needs the API key unless metrics.public', async () => {
      const refused = await fetch(`${api.url}/metrics`);
      expect(refused.status).toBe(401);
      const open = await startApi({ runtime: kind, metricsPublic: true });
      try {
        const families = await scrape(open, {});
        expect(value(families, 'burrow_sandboxes', { status: 'running' })).toBe(0);
      } finally {
        await open.close();
      }
    });
  });

  describe('tenants', () => {
    it('are series of their own; a tenant key may not scrape, an open scrape still sees every tenant', async () => {
      const open = await startApi({ runtime: kind, metricsPublic: true });
      try {
        const key = open.keys.create({ name: 'alice', tenant: 'alpha', createdBy: 'test' }).key;
        const created = await fetch(`${open.url}/api/v1/sandboxes`, {
          method: 'POST',
          headers: { 'x-api-key': key },
          body: JSON.stringify({ memory: 64 * 1024 ** 2, cpu: 500_000_000 }),
        });
        expect(created.status).toBe(201);
        // Without a key (public): the scrape runs as the server, not as an anonymous caller that sees nothing.
        const families = await scrape(open, {});
        expect(value(families, 'burrow_sandboxes', { status: 'running' })).toBe(1);
        expect(value(families, 'burrow_tenant_sandboxes', { tenant: 'alpha' })).toBe(1);
        expect(value(families, 'burrow_tenant_memory_bytes', { tenant: 'alpha' })).toBe(64 * 1024 ** 2);
        expect(value(families, 'burrow_tenant_cpu_cores', { tenant: 'alpha' })).toBe(0.5);
        expect(value(families, 'burrow_tenant_quota', { tenant: 'alpha', quota: 'sandboxes' })).toBe(0);
      } finally {
        await open.close();
      }
      const key = api.keys.create({ name: 'bob', tenant: 'beta', createdBy: 'test' }).key;
      const refused = await fetch(`${api.url}/metrics`, { headers: { 'x-api-key': key } });
      expect(refused.status).toBe(403);
    });
  });

  describe('per-sandbox series', () => {
    it('are bounded to the most recently used running sandboxes', async () => {
      const runtime = new FakeRuntime();
      const store = new SqliteStore(':memory:');
      const metrics = new PrometheusMetrics({ maxSandboxSeries: 2, sandboxRefreshMs: 0 });
      const engine = new Engine({
        runtime,
        store,
        policy: testPolicy(),
        maxSandboxes: 10,
        logger: silentLogger,
        metrics,
      });
      metrics.attach(engine, runtime);
      const ids: string[] = [];
      for (let index = 0; index < 4; index += 1) ids.push((await engine.create({})).id);
      const used = ids[0] ?? '';
      await new Promise((resolve) => setTimeout(resolve, 5));
      engine.touch(used);
      const families = parsePrometheusTextFormat(await metrics.text());
      const series = families.find((family) => family.name === 'burrow_sandbox_memory_bytes')?.metrics ?? [];
      expect(series).toHaveLength(2);
      expect(series.map((sample) => sample.labels?.sandbox)).toContain(used);
      store.close();
    });
  });
}
