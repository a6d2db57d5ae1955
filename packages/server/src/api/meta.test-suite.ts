/** Health, version and the OpenAPI document, on the fake (meta.test.ts) and on Docker (meta.docker.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEATURES, INTERACTIVE_FEATURES } from '@burrow/protocol';
import { routeRegistryOf } from './route-registry.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function metaRoutesSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind });
  });
  afterAll(() => api.close());

  describe('health and version', () => {
    it('reports ok with the feature tokens Den SDKs probe for', async () => {
      const response = await fetch(`${api.url}/api/v1/health`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { status: string; features: string[]; runtimes: unknown[] };
      expect(body).toEqual({
        status: 'ok',
        features: [...FEATURES, ...INTERACTIVE_FEATURES],
        runtimes: expect.any(Array) as unknown,
      });
      expect(body.features).toEqual(
        expect.arrayContaining(['network_mode', 'start', 'file_stat', 'sandbox_ip', 'writable_rootfs']),
      );
    });

    it('reports 503 when the runtime does not answer, or answers too slowly', async () => {
      const down = await startApi({ runtime: kind, ping: () => Promise.reject(new Error('docker is down')) });
      const hung = await startApi({ runtime: kind, ping: () => new Promise<void>(() => undefined) });
      try {
        const response = await fetch(`${down.url}/api/v1/health`);
        expect(response.status).toBe(503);
        expect(await response.json()).toEqual({ status: 'unhealthy', reason: 'runtime unavailable' });
        const started = Date.now();
        expect((await fetch(`${hung.url}/api/v1/health`)).status).toBe(503);
        expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
      } finally {
        await down.close();
        await hung.close();
      }
    });

    it("reports the version with Den's keys and the API version", async () => {
      const body = await (await fetch(`${api.url}/api/v1/version`)).json();
      expect(body).toEqual({
        version: '9.9.9',
        commit: 'abc123',
        build_date: '2026-01-01',
        features: [...FEATURES, ...INTERACTIVE_FEATURES],
        api: 'v1',
      });
    });
  });

  describe('OpenAPI document', () => {
    type Doc = {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    let doc: Doc;
    beforeAll(async () => {
      const response = await api.call('/api/v1/openapi.json');
      expect(response.status).toBe(200);
      doc = (await response.json()) as Doc;
    });

    it('is OpenAPI 3.1 and describes every registered route', () => {
      expect(doc.openapi).toBe('3.1.0');
      for (const route of routeRegistryOf(api.app).routes) {
        const path = route.url.replace(/:(\w+)/g, '{$1}');
        expect([route.method, path, doc.paths[path]?.[route.method.toLowerCase()] !== undefined]).toEqual([
          route.method,
          path,
          true,
        ]);
      }
      const documented = Object.entries(doc.paths).reduce(
        // The preview proxy's path is served before routing, so it is documented but not registered.
        (count, [path, methods]) => count + (path.includes('/proxy/') ? 0 : Object.keys(methods).length),
        0,
      );
      expect(documented).toBe(routeRegistryOf(api.app).routes.length);
    });

    it('resolves every schema reference and lists error responses', () => {
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map(
        (match) => match[1],
      );
      expect(refs.length).toBeGreaterThan(20);
      for (const name of refs) expect(doc.components.schemas[name ?? '']).toBeDefined();
      expect(Object.keys(doc.paths['/api/v1/sandboxes']?.post?.responses ?? {})).toEqual(
        expect.arrayContaining(['201', '400', '401', '429']),
      );
      expect(Object.keys(doc.paths['/api/v1/health']?.get?.responses ?? {})).not.toContain('401');
      const create = doc.components.schemas.CreateSandboxRequest as { properties: Record<string, unknown> };
      expect(Object.keys(create.properties)).toEqual(
        expect.arrayContaining(['image', 'timeout', 'labels', 'pid_limit']),
      );
    });
  });
}
