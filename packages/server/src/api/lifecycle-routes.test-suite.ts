/** Burrow's pause, resume and fork routes, activity in the sandbox info, and /resources with the real monitor.
 * On the fake (lifecycle-routes.test.ts) and on Docker (lifecycle-routes.docker.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BurrowError, FEATURES, Resources } from '@burrow/protocol';
import { scoreThresholds } from '../engine/pressure/levels.js';
import { PressureMonitor, type HostMemorySample } from '../engine/pressure/monitor.js';
import { pressureTargets } from '../engine/pressure/targets.js';
import { silentLogger } from '../logger.js';
import { resourcesReport } from '../resources-report.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

const GiB = 1024 ** 3;
export function lifecycleRoutesSuite(kind: RuntimeKind): void {
  let api: Harness;
  let sample: HostMemorySample = { total: 8 * GiB, available: 6 * GiB };
  let monitor: PressureMonitor;

  beforeAll(async () => {
    api = await startApi({
      runtime: kind,
      maxSandboxes: 8,
      engine: { admissionGate: () => monitor.checkCanCreate(), lifetimes: { autoResume: true } },
      resources: () => Promise.resolve(resourcesReport(api.engine, monitor, undefined, 4)),
    });
    monitor = new PressureMonitor({
      source: { sample: () => Promise.resolve(sample) },
      targets: pressureTargets(api.engine, api.runtime),
      scoreThresholds: scoreThresholds(0.8, 0.9),
      stallThresholds: { warning: 10, high: 30, critical: 10 },
      intervalMs: 5000,
      autoThrottle: true,
      minMemoryFloor: 32 * 1024 * 1024,
      pauseIdleAfterMs: 0,
      clock: { now: () => new Date() },
      logger: silentLogger,
    });
  });
  afterAll(() => api.close());

  const post = (path: string, body?: unknown) =>
    api.call(path, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  describe('pause and resume routes', () => {
    it('pauses and resumes, shows paused in info and list, and resumes on exec', async () => {
      const id = await api.sandbox();
      const paused = await post(`/api/v1/sandboxes/${id}/pause`);
      expect(paused.status).toBe(200);
      const body = (await paused.json()) as Record<string, string>;
      expect(body).toMatchObject({ id, status: 'paused' });
      expect(body.paused_at).toMatch(/Z$/);
      const listed = (await (await api.call('/api/v1/sandboxes')).json()) as { id: string; status: string }[];
      expect(listed.find((entry) => entry.id === id)?.status).toBe('paused');
      const stats = (await (await api.call('/api/v1/stats')).json()) as Record<string, number>;
      expect(stats.paused_sandboxes).toBe(1);

      const exec = await post(`/api/v1/sandboxes/${id}/exec`, { cmd: ['echo', 'hi'] });
      expect(exec.status).toBe(200);
      const info = (await (await api.call(`/api/v1/sandboxes/${id}`)).json()) as Record<string, string>;
      expect(info.status).toBe('running');
      expect(info.last_activity_at).toMatch(/Z$/);
      expect(info.paused_at).toBeUndefined();

      await post(`/api/v1/sandboxes/${id}/pause`);
      const resumed = await post(`/api/v1/sandboxes/${id}/resume`);
      expect(resumed.status).toBe(200);
      expect(((await resumed.json()) as { status: string }).status).toBe('running');
    });

    it('answers 409 to pause a stopped sandbox, 404 for an unknown one', async () => {
      const id = await api.sandbox();
      await post(`/api/v1/sandboxes/${id}/stop`);
      const refused = await post(`/api/v1/sandboxes/${id}/pause`);
      expect(refused.status).toBe(409);
      expect(await refused.json()).toMatchObject({ code: 'SANDBOX_NOT_RUNNING', status: 'stopped' });
      expect((await post('/api/v1/sandboxes/nope/resume')).status).toBe(404);
      await api.engine.destroy(id);
    });

    it('advertises the features', () => {
      for (const token of ['pause', 'fork', 'idle_policy', 'memory_pressure', 'metrics'])
        expect(FEATURES).toContain(token);
    });
  });

  describe('fork route', () => {
    it('makes count copies (201) and validates count', async () => {
      const id = await api.sandbox();
      await api.call(`/api/v1/sandboxes/${id}/files?path=/tmp/f`, { method: 'PUT', body: 'forked' });
      const forked = await post(`/api/v1/sandboxes/${id}/fork`, { count: 2 });
      expect(forked.status).toBe(201);
      const { sandboxes } = (await forked.json()) as { sandboxes: { id: string; status: string }[] };
      expect(sandboxes).toHaveLength(2);
      for (const copy of sandboxes) {
        expect(copy.status).toBe('running');
        const file = await api.call(`/api/v1/sandboxes/${copy.id}/files?path=/tmp/f`);
        expect(await file.text()).toBe('forked');
      }
      const one = await post(`/api/v1/sandboxes/${id}/fork`);
      expect(((await one.json()) as { sandboxes: unknown[] }).sandboxes).toHaveLength(1);
      const bad = await post(`/api/v1/sandboxes/${id}/fork`, { count: 0 });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ code: 'VALIDATION_FAILED', field: 'count' });
      expect((await post(`/api/v1/sandboxes/${id}/fork`, { count: 'two' })).status).toBe(400);
      for (const sandbox of api.engine.list()) await api.engine.destroy(sandbox.id);
    });
  });

  describe('/resources with the monitor', () => {
    it("reports Den's keys with real values, and refuses creates at critical with Den's 503", async () => {
      await monitor.tick();
      let resources = Resources.parse(await (await api.call('/api/v1/resources')).json());
      expect(resources.host).toMatchObject({ cpu_cores: 4, memory_total: 8 * GiB, memory_used: 2 * GiB });
      expect(resources.pressure).toMatchObject({ level: 'normal', can_create: true, score: 0.25 });

      const id = await api.sandbox();
      sample = { total: 8 * GiB, available: Math.round(0.3 * GiB), stall: { someAvg10: 5, fullAvg10: 1 } };
      await monitor.tick();
      await monitor.tick();
      resources = Resources.parse(await (await api.call('/api/v1/resources')).json());
      expect(resources.pressure).toMatchObject({ level: 'emergency', can_create: false, next_threshold: 1 });
      expect(resources.pressure.stall).toEqual({ some_avg10: 5, full_avg10: 1 });
      expect(resources.pressure.throttled).toBe(1);
      expect(resources.pressure.actions?.map((action) => action.action)).toContain('throttle');
      expect(resources.pressure.reason).toMatch(/^emergency: memory 96\.\d% used/);

      const refused = await post('/api/v1/sandboxes', {});
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({
        error: 'host under critical memory pressure',
        code: 'MEMORY_PRESSURE',
      });
      expect((await post(`/api/v1/sandboxes/${id}/fork`, {})).status).toBe(503);

      sample = { total: 8 * GiB, available: 6 * GiB };
      await monitor.tick();
      await monitor.tick();
      expect((await post('/api/v1/sandboxes', {})).status).toBe(201);
      expect(new BurrowError('MEMORY_PRESSURE', 'x').status).toBe(503);
    });
  });
}
