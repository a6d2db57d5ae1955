/** Authentication, logging, CORS and rate limiting on every route, on the fake (gate.test.ts) and on Docker (gate.docker.test.ts). */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeRegistryOf } from './route-registry.js';
import { API_KEY, startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function gateSuite(kind: RuntimeKind): void {
  let api: Harness;
  let id: string;
  beforeAll(async () => {
    api = await startApi({ runtime: kind });
    id = await api.sandbox();
  });
  afterAll(() => api.close());

  const OPEN = new Set(['GET /api/v1/health', 'GET /api/v1/version']);

  function concrete(url: string): string {
    return url
      .replace(':id', id)
      .replace(':snapshotId', 'snap-x')
      .replace(':port', '80')
      .replace(':processId', 'proc_00');
  }

  describe('authentication on every route', () => {
    it('covers the whole route table', () => {
      // Den's 30 routes, plus /timeout, /openapi.json, /s3-syncs, nine process routes, attach, watch, /pause,
      // /resume, /fork and /metrics, three of /preview, two of /egress, and the admin routes /keys (3) and /audit.
      expect(routeRegistryOf(api.app).routes).toHaveLength(57);
    });

    it('refuses every protected route without a key, or with a wrong one', async () => {
      const routes = routeRegistryOf(api.app).routes.filter(
        (route) => !OPEN.has(`${route.method} ${route.url}`),
      );
      for (const route of routes) {
        const url = `${api.url}${concrete(route.url)}?path=/tmp`;
        const missing = await fetch(url, { method: route.method });
        expect([route.url, missing.status]).toEqual([route.url, 401]);
        expect(await missing.json()).toEqual({ error: 'missing API key', code: 'UNAUTHORIZED' });
        const wrong = await fetch(url, { method: route.method, headers: { 'x-api-key': `${API_KEY}x` } });
        expect([route.url, wrong.status]).toEqual([route.url, 401]);
        expect(await wrong.json()).toEqual({ error: 'invalid API key', code: 'UNAUTHORIZED' });
        const bearer = await fetch(url, {
          method: route.method,
          headers: { authorization: `Bearer ${API_KEY}x` },
        });
        expect(bearer.status).toBe(401);
      }
    });

    it('accepts X-API-Key and Authorization: Bearer', async () => {
      expect((await fetch(`${api.url}/api/v1/sandboxes`, { headers: { 'x-api-key': API_KEY } })).status).toBe(
        200,
      );
      expect(
        (await fetch(`${api.url}/api/v1/sandboxes`, { headers: { authorization: `Bearer ${API_KEY}` } }))
          .status,
      ).toBe(200);
      expect(
        (await fetch(`${api.url}/api/v1/sandboxes`, { headers: { authorization: `bearer   ${API_KEY}` } }))
          .status,
      ).toBe(200);
    });

    it('leaves health and version open', async () => {
      for (const path of ['/api/v1/health', '/api/v1/version'])
        expect((await fetch(`${api.url}${path}`)).status).toBe(200);
    });

    it('answers 401 before 404 for unknown API paths, and no spelling of a path slips through', async () => {
      expect((await fetch(`${api.url}/api/v1/nothing`)).status).toBe(401);
      for (const path of [
        '/api/%761/sandboxes',
        '/API/v1/sandboxes',
        '//api/v1/sandboxes',
        '/api/v1/sandboxes/',
        '/api/v1/./sandboxes',
      ]) {
        const response = await fetch(`${api.url}${path}`);
        expect([path, response.status === 200]).toEqual([path, false]);
      }
    });

    it('leaves non-API paths open (404 here: the dashboard is not part of this app)', async () => {
      const response = await fetch(`${api.url}/index.html`);
      expect(response.status).toBe(404);
    });
  });

  describe('logging', () => {
    it('logs one line per request and never the API key', async () => {
      let text = '';
      const sink = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          text += chunk.toString();
          callback();
        },
      });
      const logged = await startApi({ runtime: kind, logger: pino({ level: 'debug' }, sink) });
      try {
        await logged.call('/api/v1/sandboxes');
        await fetch(`${logged.url}/api/v1/sandboxes`, { headers: { authorization: `Bearer ${API_KEY}` } });
        await fetch(`${logged.url}/api/v1/sandboxes`, { headers: { 'x-api-key': 'wrong-key-value' } });
        await expect
          .poll(() => text.split('\n').filter((line) => line.includes('"msg":"request"')).length)
          .toBe(3);
        expect(text).not.toContain(API_KEY);
        expect(text).not.toContain('wrong-key-value');
        expect(text).toContain('"status":401');
      } finally {
        await logged.close();
      }
    });
  });

  describe('CORS', () => {
    const preflight = (origin: string, headers = 'x-api-key, content-type') =>
      fetch(`${api.url}/api/v1/sandboxes`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': headers,
        },
      });

    it('answers an allowed preflight with 204 and no key', async () => {
      const response = await preflight('http://localhost:8080');
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:8080');
      expect(response.headers.get('access-control-allow-methods')).toBe('POST');
      expect(response.headers.get('access-control-allow-headers')).toBe('x-api-key, content-type');
      expect(response.headers.get('access-control-max-age')).toBe('300');
      expect(response.headers.get('vary')).toBe(
        'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      );
    });

    it("allows the server's own origin and matches case-insensitively", async () => {
      expect((await preflight(api.url)).headers.get('access-control-allow-origin')).toBe(api.url);
      expect((await preflight('HTTP://LOCALHOST:8080')).headers.get('access-control-allow-origin')).toBe(
        'HTTP://LOCALHOST:8080',
      );
    });

    it('sets no CORS headers for other origins or headers', async () => {
      const other = await preflight('http://evil.example');
      expect(other.status).toBe(204);
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const header = await preflight('http://localhost:8080', 'x-custom');
      expect(header.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('marks actual responses (errors included) for allowed origins', async () => {
      const ok = await fetch(`${api.url}/api/v1/sandboxes`, {
        headers: { origin: 'http://127.0.0.1:8080', 'x-api-key': API_KEY },
      });
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8080');
      expect(ok.headers.get('vary')).toBe('Origin');
      const unauthorised = await fetch(`${api.url}/api/v1/sandboxes`, {
        headers: { origin: 'http://127.0.0.1:8080' },
      });
      expect(unauthorised.status).toBe(401);
      expect(unauthorised.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8080');
      const other = await fetch(`${api.url}/api/v1/health`, { headers: { origin: 'http://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('rate limiting', () => {
    it('answers 429 with Retry-After once the burst is spent, per caller, and refills in time', async () => {
      // An injected clock: the buckets refill only when the test says time passed, however slow the machine is.
      let now = 0;
      const limited = await startApi({ runtime: kind, rateLimit: { rps: 0.5, burst: 3, now: () => now } });
      try {
        for (let i = 0; i < 3; i += 1) expect((await fetch(`${limited.url}/api/v1/health`)).status).toBe(200);
        const refused = await fetch(`${limited.url}/api/v1/health`);
        expect(refused.status).toBe(429);
        expect(refused.headers.get('retry-after')).toBe('2');
        expect(await refused.json()).toEqual({ error: 'rate limit exceeded', code: 'RATE_LIMITED' });
        // A forwarded address does not choose the bucket unless the proxy is trusted.
        expect(
          (await fetch(`${limited.url}/api/v1/health`, { headers: { 'x-forwarded-for': '10.9.9.9' } }))
            .status,
        ).toBe(429);
        // Wrong keys share the address's bucket (no fresh bucket per guess) ...
        expect(
          (await fetch(`${limited.url}/api/v1/sandboxes`, { headers: { 'x-api-key': 'guess' } })).status,
        ).toBe(429);
        // ... while a valid key has its own.
        expect((await limited.call('/api/v1/sandboxes')).status).toBe(200);
        const preflight = await fetch(`${limited.url}/api/v1/sandboxes`, {
          method: 'OPTIONS',
          headers: { 'access-control-request-method': 'GET' },
        });
        expect(preflight.status).toBe(429);
        // 1.9 s later the next token (one per 2 s) is not there yet; at 2 s it is, and only one.
        now += 1900;
        expect((await fetch(`${limited.url}/api/v1/health`)).status).toBe(429);
        now += 100;
        expect((await fetch(`${limited.url}/api/v1/health`)).status).toBe(200);
        expect((await fetch(`${limited.url}/api/v1/health`)).status).toBe(429);
      } finally {
        await limited.close();
      }
    });

    it('uses forwarded addresses behind a trusted proxy', async () => {
      const limited = await startApi({
        runtime: kind,
        rateLimit: { rps: 0.5, burst: 1, now: () => 0 },
        trustProxy: true,
      });
      try {
        expect(
          (await fetch(`${limited.url}/api/v1/health`, { headers: { 'x-forwarded-for': '10.0.0.1' } }))
            .status,
        ).toBe(200);
        expect(
          (await fetch(`${limited.url}/api/v1/health`, { headers: { 'x-forwarded-for': '10.0.0.1' } }))
            .status,
        ).toBe(429);
        expect(
          (await fetch(`${limited.url}/api/v1/health`, { headers: { 'x-forwarded-for': '10.0.0.2' } }))
            .status,
        ).toBe(200);
        expect(
          (await fetch(`${limited.url}/api/v1/health`, { headers: { 'x-real-ip': '10.0.0.3' } })).status,
        ).toBe(200);
      } finally {
        await limited.close();
      }
    });
  });
}
