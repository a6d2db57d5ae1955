/** The sandbox lifecycle routes, on the fake (sandboxes.test.ts) and on Docker (sandboxes.docker.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZERO_TIME } from '@burrow/protocol';
import { freePort } from '../test-support/free-port.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
});

export function sandboxRoutesSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind, maxSandboxes: 6 });
  });
  afterAll(() => api.close());

  async function destroyAll(): Promise<void> {
    for (const sandbox of api.engine.list()) await api.engine.destroy(sandbox.id);
  }

  describe('sandbox lifecycle routes', () => {
    it('lists [] when there are no sandboxes', async () => {
      await destroyAll();
      const response = await api.call('/api/v1/sandboxes');
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('[]');
    });

    it("creates with 201 and exactly Den's keys for an image-only request", async () => {
      const response = await api.call('/api/v1/sandboxes', json({ image: api.image }));
      expect(response.status).toBe(201);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as Record<string, string>;
      expect(Object.keys(body).sort()).toEqual(['created_at', 'expires_at', 'id', 'image', 'status']);
      expect(body.status).toBe('running');
      expect(body.image).toBe(api.image);
      expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$/);
      const lifetime = Date.parse(body.expires_at ?? '') - Date.parse(body.created_at ?? '');
      expect(lifetime).toBe(30 * 60_000);
    });

    it('decodes the JSON body whatever the Content-Type, malformed or empty included', async () => {
      await destroyAll();
      for (const type of ['', 'garbage', ';;', 'text/plain', 'application/json; charset']) {
        const response = await api.call('/api/v1/sandboxes', {
          method: 'POST',
          body: JSON.stringify({ image: api.image }),
          headers: { 'content-type': type },
        });
        expect(response.status).toBe(201);
      }
      await destroyAll();
    });

    it('echoes normalised ports, accepts Burrow fields, maps timeout seconds', async () => {
      const hostPort = await freePort();
      const response = await api.call(
        '/api/v1/sandboxes',
        json({
          timeout: 60,
          ports: [{ sandbox_port: 80, host_port: hostPort, protocol: 'TCP' }],
          labels: { team: 'a' },
          pid_limit: 64,
          cmd: ['sleep', '1'],
        }),
      );
      expect(response.status).toBe(201);
      const body = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual([
        'created_at',
        'expires_at',
        'id',
        'image',
        'labels',
        'ports',
        'status',
      ]);
      expect(body.ports).toEqual([{ sandbox_port: 80, host_port: hostPort, protocol: 'tcp' }]);
      expect(Date.parse(body.expires_at as string) - Date.parse(body.created_at as string)).toBe(60_000);
      const record = api.engine.list().find((sandbox) => sandbox.id === body.id);
      expect(record?.config.pidLimit).toBe(64);
      expect(record?.config.cmd).toEqual(['sleep', '1']);
    });

    it('matches field names case-insensitively and ignores unknown fields, as Go does', async () => {
      const response = await api.call(
        '/api/v1/sandboxes',
        json({ Image: api.otherImage, TIMEOUT: 5, unknown: { deep: true }, env: null }),
      );
      expect(response.status).toBe(201);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body.image).toBe(api.otherImage);
      expect(Date.parse(body.expires_at as string) - Date.parse(body.created_at as string)).toBe(5000);
    });

    it.each([
      ['an empty body', '', /the body is empty/],
      ['invalid JSON', '{"image":', /not valid JSON/],
      ['an array', '[]', /expected a JSON object/],
      ['a string timeout', '{"timeout":"30"}', /^invalid request body: timeout: expected number/],
      ['a fractional cpu', '{"cpu":1.5}', /^invalid request body: cpu: expected int/],
      ['a bad port', '{"ports":[{"sandbox_port":"x","host_port":1}]}', /ports\[0\]\.sandbox_port/],
    ])('refuses %s with 400 BAD_REQUEST', async (_name, body, message) => {
      const response = await api.call('/api/v1/sandboxes', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(400);
      const error = (await response.json()) as { error: string; code: string };
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.error).toMatch(message);
    });

    it('parses JSON whatever the Content-Type (Den never checks it)', async () => {
      const response = await api.call('/api/v1/sandboxes', {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(response.status).toBe(201);
    });

    it('answers policy violations with 400 and the field', async () => {
      const bridge = await api.call('/api/v1/sandboxes', json({ network_mode: 'bridge' }));
      expect(bridge.status).toBe(400);
      expect(((await bridge.json()) as { error: string }).error).toMatch(/^network_mode: /);
      const egress = await api.call(
        '/api/v1/sandboxes',
        json({ network_mode: 'none', egress: { allow: ['example.com'] } }),
      );
      expect(egress.status).toBe(400);
      expect(await egress.json()).toMatchObject({ code: 'POLICY_VIOLATION', field: 'egress' });
    });

    it('answers 429 at the sandbox limit', async () => {
      await destroyAll();
      for (let i = 0; i < 6; i += 1) await api.sandbox();
      const response = await api.call('/api/v1/sandboxes', json({}));
      expect(response.status).toBe(429);
      expect(((await response.json()) as { code: string }).code).toBe('SANDBOX_LIMIT_REACHED');
      await destroyAll();
    });

    it('lists, gets (with network_mode), stops, starts and destroys', async () => {
      const id = await api.sandbox();
      const list = (await (await api.call('/api/v1/sandboxes')).json()) as { id: string }[];
      expect(list.map((sandbox) => sandbox.id)).toContain(id);

      const get = await api.call(`/api/v1/sandboxes/${id}`);
      expect(get.status).toBe(200);
      const detail = (await get.json()) as Record<string, unknown>;
      expect(detail.id).toBe(id);
      expect(detail.network_mode).toBe('internal');
      expect(detail.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

      const stop = await api.call(`/api/v1/sandboxes/${id}/stop`, { method: 'POST' });
      expect(stop.status).toBe(200);
      expect(await stop.json()).toEqual({ status: 'stopped' });
      const stopped = (await (await api.call(`/api/v1/sandboxes/${id}`)).json()) as Record<string, unknown>;
      expect(stopped.status).toBe('stopped');
      // The agent that keeps a sandbox without a command alive ends cleanly on the stop's SIGTERM.
      expect(stopped.exit_code).toBe(0);
      expect(stopped.ip).toBeUndefined();

      const start = await api.call(`/api/v1/sandboxes/${id}/start`, {
        method: 'POST',
        body: 'ignored, not JSON',
      });
      expect(start.status).toBe(200);
      expect(await start.json()).toEqual({ status: 'running' });
      // Starting a running sandbox is a no-op, as in Den (Docker's 304 was a 500 here).
      const running = await api.call(`/api/v1/sandboxes/${id}/start`, { method: 'POST' });
      expect(running.status).toBe(200);
      expect(await running.json()).toEqual({ status: 'running' });
      const exec = await api.call(`/api/v1/sandboxes/${id}/exec`, json({ cmd: ['echo', 'up'] }));
      expect(await exec.json()).toMatchObject({ exit_code: 0, stdout: 'up\n' });

      const destroy = await api.call(`/api/v1/sandboxes/${id}`, { method: 'DELETE' });
      expect(destroy.status).toBe(204);
      expect(await destroy.text()).toBe('');
      const again = await api.call(`/api/v1/sandboxes/${id}`, { method: 'DELETE' });
      expect(again.status).toBe(404);
      expect(await again.json()).toEqual({ error: 'sandbox not found', code: 'SANDBOX_NOT_FOUND' });
    });

    it.each([
      ['GET', '/api/v1/sandboxes/nope'],
      ['DELETE', '/api/v1/sandboxes/nope'],
      ['POST', '/api/v1/sandboxes/nope/stop'],
      ['POST', '/api/v1/sandboxes/nope/start'],
    ])('%s %s of an unknown sandbox is 404', async (method, path) => {
      const response = await api.call(path, { method });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { code: string }).code).toBe('SANDBOX_NOT_FOUND');
    });

    it('resets the lifetime with POST /timeout', async () => {
      const id = await api.sandbox();
      const before = Date.now();
      const response = await api.call(`/api/v1/sandboxes/${id}/timeout`, json({ timeout: 3600 }));
      expect(response.status).toBe(200);
      const body = (await response.json()) as { id: string; expires_at: string };
      expect(body.id).toBe(id);
      expect(Date.parse(body.expires_at) - before).toBeGreaterThanOrEqual(3600_000 - 1000);
      const bad = await api.call(`/api/v1/sandboxes/${id}/timeout`, json({ timeout: 0 }));
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/timeout/);
      const missing = await api.call('/api/v1/sandboxes/nope/timeout', json({ timeout: 5 }));
      expect(missing.status).toBe(404);
    });

    it('shows the zero instant for a sandbox that never expires', async () => {
      const id = await api.sandbox();
      const record = api.engine.store.getSandbox(id);
      if (record === undefined) throw new Error('missing record');
      delete record.expiresAt;
      api.engine.store.updateSandbox(record);
      const body = (await (await api.call(`/api/v1/sandboxes/${id}`)).json()) as { expires_at: string };
      expect(body.expires_at).toBe(ZERO_TIME);
    });
  });

  describe('host ports', () => {
    it('refuses a host port another sandbox holds with a clear 409, and leaves nothing behind', async () => {
      await destroyAll();
      const port = await freePort();
      const first = await api.call(
        '/api/v1/sandboxes',
        json({ ports: [{ sandbox_port: 8080, host_port: port }] }),
      );
      expect(first.status).toBe(201);
      const clash = await api.call(
        '/api/v1/sandboxes',
        json({ ports: [{ sandbox_port: 9090, host_port: port }] }),
      );
      expect(clash.status).toBe(409);
      expect(await clash.json()).toEqual({
        error: `host port ${port} is already in use (by another sandbox): choose another host_port`,
        code: 'CONFLICT',
        host_port: port,
      });
      expect(api.engine.list()).toHaveLength(1);
      expect(await api.runtime.list()).toHaveLength(1);
      await destroyAll();
    });
  });

  describe('request limits and unknown routes', () => {
    it('refuses a 2 MiB JSON body with 413 naming the limit', async () => {
      const body = JSON.stringify({ image: 'x'.repeat(2 * 1024 * 1024) });
      const response = await api.call('/api/v1/sandboxes', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(413);
      expect(await response.json()).toEqual({
        error: 'request body exceeds the 1048576 byte limit for JSON bodies',
        code: 'PAYLOAD_TOO_LARGE',
        limit: 1048576,
      });
    });

    it('turns unexpected errors into a 500 that leaks nothing', async () => {
      const original = api.engine.systemStats.bind(api.engine);
      api.engine.systemStats = () => {
        throw new Error('secret internal detail at /var/lib/burrow');
      };
      try {
        const response = await api.call('/api/v1/stats');
        expect(response.status).toBe(500);
        expect(await response.json()).toEqual({ error: 'internal error', code: 'INTERNAL' });
      } finally {
        api.engine.systemStats = original;
      }
    });

    it('answers unknown API routes with a JSON 404', async () => {
      const response = await api.call('/api/v1/nothing-here');
      expect(response.status).toBe(404);
      expect(((await response.json()) as { code: string }).code).toBe('ROUTE_NOT_FOUND');
    });

    it('answers a wrong method with 405 and Allow', async () => {
      const response = await api.call('/api/v1/sandboxes', { method: 'PUT', body: '{}' });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST, GET');
      expect(((await response.json()) as { code: string }).code).toBe('METHOD_NOT_ALLOWED');
      const head = await api.call('/api/v1/sandboxes', { method: 'HEAD' });
      expect(head.status).toBe(405);
    });
  });
}
