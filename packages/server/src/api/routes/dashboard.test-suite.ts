/** On the fake (dashboard.test.ts) and on Docker (dashboard.docker.test.ts): the dashboard's static files: cache headers, CSP, compression, revalidation, and nothing but the built files. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness, type RuntimeKind } from '../test-support/harness.js';
import { DASHBOARD_CSP, hasDashboard } from './dashboard.js';

export function dashboardRoutesSuite(kind: RuntimeKind): void {
  let dir: string;
  let api: Harness;
  const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'burrow-dashboard-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(
      join(dir, 'index.html'),
      '<!doctype html><script type="module" src="/assets/app-AbC1.js"></script>',
    );
    await writeFile(join(dir, 'assets', 'app-AbC1.js'), script);
    await writeFile(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(join(dir, '.hidden'), 'secret');
    api = await startApi({ runtime: kind, dashboardDir: dir });
  });
  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A raw GET (fetch would normalise `..` away and decompress on its own). */
  function raw(path: string, headers: Record<string, string> = {}) {
    const url = new URL(api.url);
    return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
      (resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path, headers }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks),
            }),
          );
        });
        req.on('error', reject);
        req.end();
      },
    );
  }

  describe('dashboard assets', () => {
    it('serves index.html at / without a key, revalidated, under a strict CSP', async () => {
      const response = await raw('/');
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-security-policy']).toBe(DASHBOARD_CSP);
      expect(DASHBOARD_CSP).toContain("script-src 'self'");
      expect(DASHBOARD_CSP).not.toContain('unsafe');
      expect(response.headers['x-frame-options']).toBe('DENY');
      expect(response.body.toString()).toContain('/assets/app-AbC1.js');
      const again = await raw('/', { 'if-none-match': String(response.headers.etag) });
      expect(again.status).toBe(304);
      expect((await raw('/index.html')).status).toBe(200);
    });

    it('serves hashed assets as immutable, gzipped when the client accepts it', async () => {
      const plain = await raw('/assets/app-AbC1.js');
      expect(plain.status).toBe(200);
      expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(plain.body.toString()).toBe(script);
      const zipped = await raw('/assets/app-AbC1.js', { 'accept-encoding': 'gzip, br' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.body.length).toBeLessThan(plain.body.length);
      expect(gunzipSync(zipped.body).toString()).toBe(script);
      expect((await raw('/favicon.svg')).headers['content-type']).toBe('image/svg+xml');
    });

    it('serves nothing but the built files', async () => {
      for (const path of [
        '/.hidden',
        '/assets/../index.html.bak',
        '/assets/%2e%2e/.hidden',
        '/assets/..%2f.hidden',
        '/assets/missing.js',
        '/etc/passwd',
        '/..%2f..%2fetc/passwd',
      ]) {
        const response = await raw(path);
        expect([path, response.status]).toEqual([path, 404]);
        expect(response.body.toString()).not.toContain('secret');
      }
    });

    it('leaves the API as it was: keys still required, unknown API paths still 401', async () => {
      expect((await raw('/api/v1/sandboxes')).status).toBe(401);
      expect((await raw('/api/v1/nothing')).status).toBe(401);
    });

    it('knows whether a directory holds a built dashboard', async () => {
      expect(hasDashboard(dir)).toBe(true);
      expect(hasDashboard(join(dir, 'assets'))).toBe(false);
      expect(hasDashboard(join(dir, 'nowhere'))).toBe(false);
    });
  });
}
