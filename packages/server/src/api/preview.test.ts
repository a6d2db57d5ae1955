/**
 * Preview URLs through the API server over the in-memory runtime: both URL forms, tokens and their cookie, API keys,
 * public ports, revocation, streaming both ways, client disconnects, WebSocket upgrades, and 502 when nothing
 * listens. The sandbox's "server" is a real Node HTTP server fed the connections the runtime's fake ports make.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { asSocket } from '../proxy/tunnel-socket.js';
import { API_KEY, startApi, type Harness, fakeOf } from './test-support/harness.js';

let api: Harness;
let port: number;
const seen: IncomingMessage[] = [];
const closedEarly: string[] = [];

/** What the sandbox's web server answers. */
function app(request: IncomingMessage, response: ServerResponse): void {
  seen.push(request);
  if (request.url === '/big') {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let sent = 0;
    const pump = () => {
      while (sent < 8 * 1024 * 1024) {
        sent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', pump);
      }
      response.end();
    };
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    return pump();
  }
  if (request.url === '/upload') {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => response.end(JSON.stringify({ bytes })));
    return;
  }
  if (request.url === '/hang') {
    response.writeHead(200);
    response.write('started');
    response.on('close', () => closedEarly.push('/hang'));
    return;
  }
  response.setHeader('set-cookie', 'app=1; Path=/');
  response.end(JSON.stringify({ url: request.url, headers: request.headers }));
}

async function sandboxWithServer(): Promise<string> {
  const id = await api.sandbox();
  const server = createServer(app);
  const sockets = new WebSocketServer({ noServer: true });
  server.on('upgrade', (request, socket, head) =>
    sockets.handleUpgrade(request, socket, head, (ws) =>
      ws.on('message', (data) => ws.send(`echo:${String(data)}`)),
    ),
  );
  fakeOf(api).ports.serve(id, 8000, (connection) => server.emit('connection', asSocket(connection)));
  return id;
}

function hostUrl(id: string, path = '/'): string {
  return `http://127.0.0.1:${port}${path}`;
}

/** fetch with a preview Host header (Node's fetch does not let us set Host, so plain http.request). */
function get(
  id: string,
  path: string,
  headers: Record<string, string> = {},
  form: 'host' | 'path' = 'host',
): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  const target = form === 'host' ? path : `/api/v1/sandboxes/${id}/proxy/8000${path}`;
  return new Promise((resolve, reject) => {
    const request = httpRequest(hostUrl(id, target), {
      headers: form === 'host' ? { host: `8000-${id}.localhost:${port}`, ...headers } : headers,
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

async function token(id: string, extra = ''): Promise<string> {
  const response = await api.call(`/api/v1/sandboxes/${id}/preview/8000${extra}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

beforeAll(async () => {
  api = await startApi();
  port = Number(new URL(api.url).port);
});

afterAll(() => api.close());

describe('GET /preview/{port}', () => {
  it('gives both URL forms and a scoped token with its expiry', async () => {
    const id = await api.sandbox();
    const response = await api.call(`/api/v1/sandboxes/${id}/preview/8000?expires_in=120`);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      port: 8000,
      url: `http://8000-${id}.localhost:${port}/`,
      path_url: `http://127.0.0.1:${port}/api/v1/sandboxes/${id}/proxy/8000/`,
      host: `8000-${id}.localhost:${port}`,
      public: false,
    });
    expect(body.token).toMatch(/^bp1\.8000\.\d+\.[A-Za-z0-9_-]{43}$/);
    const lifetime = Date.parse(body.expires_at as string) - Date.now();
    expect(lifetime).toBeGreaterThan(100_000);
    expect(lifetime).toBeLessThanOrEqual(120_000);
    expect((await api.call(`/api/v1/sandboxes/${id}/preview/70000`)).status).toBe(400);
    expect((await api.call(`/api/v1/sandboxes/${id}/preview/80?expires_in=x`)).status).toBe(400);
    expect((await api.call('/api/v1/sandboxes/nope/preview/80')).status).toBe(404);
  });
});

describe('the preview proxy', () => {
  it('refuses a request without credentials with 401 and says how to get a token', async () => {
    const id = await sandboxWithServer();
    for (const form of ['host', 'path'] as const) {
      const response = await get(id, '/x', {}, form);
      expect(response.status).toBe(401);
      expect(JSON.parse(response.body)).toMatchObject({
        code: 'UNAUTHORIZED',
        error: expect.stringMatching(/token/),
      });
    }
  });

  it('takes a token in the URL, sets a cookie, and then takes the cookie; the app never sees either', async () => {
    const id = await sandboxWithServer();
    const issued = await token(id);
    const first = await get(id, `/page?a=1&burrow_token=${issued}&b=2`);
    expect(first.status).toBe(200);
    const cookies = first.headers['set-cookie'] ?? [];
    expect(cookies).toContain('app=1; Path=/');
    const ours = cookies.find((cookie) => cookie.startsWith('burrow_preview='));
    expect(ours).toMatch(/HttpOnly; SameSite=Lax/);
    const echoed = JSON.parse(first.body) as { url: string; headers: Record<string, string> };
    expect(echoed.url).toBe('/page?a=1&b=2');
    expect(echoed.headers.host).toBe(`8000-${id}.localhost:${port}`);
    const again = await get(id, '/next', { cookie: `other=1; ${ours?.split(';')[0] ?? ''}` });
    expect(again.status).toBe(200);
    const seenHeaders = (JSON.parse(again.body) as { headers: Record<string, string> }).headers;
    expect(seenHeaders.cookie).toBe('other=1');
    expect(JSON.stringify(seenHeaders)).not.toContain(issued);
  });

  it('serves the path form with the token stripped and an opaque-origin CSP', async () => {
    const id = await sandboxWithServer();
    const response = await get(id, `/deep/path?burrow_token=${await token(id)}`, {}, 'path');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ url: '/deep/path' });
    expect(response.headers['content-security-policy']).toMatch(/^sandbox /);
    expect(response.headers['set-cookie']?.join()).toContain(`Path=/api/v1/sandboxes/${id}/proxy/8000/`);
  });

  it('takes the API key and does not pass it into the sandbox', async () => {
    const id = await sandboxWithServer();
    for (const headers of [{ 'x-api-key': API_KEY }, { authorization: `Bearer ${API_KEY}` }]) {
      const response = await get(id, '/k', headers);
      expect(response.status).toBe(200);
      expect(response.body).not.toContain(API_KEY);
    }
  });

  it('refuses a token for another port or sandbox, an expired one, and every token after a rotation', async () => {
    const id = await sandboxWithServer();
    const other = await sandboxWithServer();
    expect((await get(id, `/?burrow_token=${await token(other)}`)).status).toBe(401);
    const wrongPort = (
      (await (await api.call(`/api/v1/sandboxes/${id}/preview/9000`)).json()) as { token: string }
    ).token;
    const refused = await get(id, `/?burrow_token=${wrongPort}`);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'the preview token is for port 9000, not 8000' });
    const good = await token(id);
    expect((await get(id, `/?burrow_token=${good}`)).status).toBe(200);
    expect((await api.call(`/api/v1/sandboxes/${id}/preview/rotate`, { method: 'POST' })).status).toBe(200);
    const revoked = await get(id, `/?burrow_token=${good}`);
    expect(revoked.status).toBe(401);
    expect(JSON.parse(revoked.body)).toMatchObject({ error: expect.stringMatching(/revoked/) });
    expect((await get(id, '/', { cookie: `burrow_preview=${good}` })).status).toBe(401);
  });

  it('opens a public port to anyone and closes it again', async () => {
    const id = await sandboxWithServer();
    const made = await api.call(`/api/v1/sandboxes/${id}/preview/8000`, {
      method: 'PUT',
      body: JSON.stringify({ public: true }),
    });
    expect(await made.json()).toMatchObject({ public: true });
    expect((await get(id, '/')).status).toBe(200);
    expect((await api.call(`/api/v1/sandboxes/${id}`).then((r) => r.json())) as object).toMatchObject({
      public_ports: [8000],
    });
    await api.call(`/api/v1/sandboxes/${id}/preview/8000`, { method: 'PUT', body: '{"public":false}' });
    expect((await get(id, '/')).status).toBe(401);
  });

  it('answers 502 with a clear message when nothing listens, 404 and 409 for missing or stopped sandboxes', async () => {
    const id = await api.sandbox();
    const silent = await get(id, '/', { 'x-api-key': API_KEY });
    expect(silent.status).toBe(502);
    expect(JSON.parse(silent.body)).toEqual({
      code: 'PORT_NOT_LISTENING',
      error: 'nothing listens on port 8000 in the sandbox: start a server there first',
    });
    expect((await get('v0000000000000000000', '/', { 'x-api-key': API_KEY })).status).toBe(404);
    await api.engine.stop(id);
    expect((await get(id, '/', { 'x-api-key': API_KEY })).status).toBe(409);
  });

  it('streams large bodies both ways', async () => {
    const id = await sandboxWithServer();
    const down = await get(id, '/big', { 'x-api-key': API_KEY });
    expect(down.body.length).toBe(8 * 1024 * 1024);
    const uploaded = await new Promise<string>((resolve, reject) => {
      const request = httpRequest(hostUrl(id, '/upload'), {
        method: 'POST',
        headers: { host: `8000-${id}.localhost:${port}`, 'x-api-key': API_KEY },
      });
      request.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body));
      });
      request.on('error', reject);
      const chunk = Buffer.alloc(1024 * 1024, 'y');
      for (let i = 0; i < 6; i += 1) request.write(chunk);
      request.end();
    });
    expect(JSON.parse(uploaded)).toEqual({ bytes: 6 * 1024 * 1024 });
  });

  it('passes a client disconnect on to the sandbox server', async () => {
    const id = await sandboxWithServer();
    await new Promise<void>((resolve, reject) => {
      const request = httpRequest(hostUrl(id, '/hang'), {
        headers: { host: `8000-${id}.localhost:${port}`, 'x-api-key': API_KEY },
      });
      request.on('response', (response) => {
        response.once('data', () => {
          request.destroy();
          resolve();
        });
      });
      request.on('error', () => undefined);
      request.on('timeout', reject);
      request.end();
    });
    await expect.poll(() => closedEarly.length, { timeout: 5000 }).toBeGreaterThan(0);
  });

  it('carries WebSocket upgrades through both URL forms', async () => {
    const id = await sandboxWithServer();
    for (const url of [
      `ws://127.0.0.1:${port}/socket`,
      `ws://127.0.0.1:${port}/api/v1/sandboxes/${id}/proxy/8000/socket`,
    ]) {
      const socket = new WebSocket(url, {
        headers: url.includes('/proxy/')
          ? { 'x-api-key': API_KEY }
          : { host: `8000-${id}.localhost:${port}`, 'x-api-key': API_KEY },
      });
      await once(socket, 'open');
      socket.send('hello');
      const [reply] = (await once(socket, 'message')) as [Buffer];
      expect(String(reply)).toBe('echo:hello');
      socket.close();
    }
    const refused = new WebSocket(`ws://127.0.0.1:${port}/socket`, {
      headers: { host: `8000-${id}.localhost:${port}` },
    });
    const [, response] = (await once(refused, 'unexpected-response')) as [unknown, IncomingMessage];
    expect(response.statusCode).toBe(401);
    response.resume();
  });
});

describe('previews with auth off', () => {
  it('are open, but the path form answers only requests addressed to a loopback name (no DNS rebinding)', async () => {
    const open = await startApi({ authEnabled: false });
    try {
      const id = await open.sandbox();
      fakeOf(open).ports.serve(id, 8000, (connection) => {
        connection.on('error', () => undefined);
        connection.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
      });
      const openPort = Number(new URL(open.url).port);
      const fetchWithHost = (path: string, host: string) =>
        new Promise<number>((resolve, reject) => {
          const request = httpRequest(
            { host: '127.0.0.1', port: openPort, path, headers: { host } },
            (response) => {
              response.resume();
              resolve(response.statusCode ?? 0);
            },
          );
          request.on('error', reject);
          request.end();
        });
      expect(await fetchWithHost('/', `8000-${id}.localhost:${openPort}`)).toBe(200);
      expect(await fetchWithHost(`/api/v1/sandboxes/${id}/proxy/8000/`, `127.0.0.1:${openPort}`)).toBe(200);
      expect(await fetchWithHost(`/api/v1/sandboxes/${id}/proxy/8000/`, `evil.example:${openPort}`)).toBe(
        403,
      );
    } finally {
      await open.close();
    }
  });
});
