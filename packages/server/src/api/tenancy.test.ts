/**
 * Two tenants and an admin through the real HTTP server (fake runtime, S3 on a real s3rver): every route the app
 * registers is walked from its route table, so a route added later is covered without touching this file (or
 * fails here until it is given a sample request that reaches its sandbox).
 *
 * - A route naming a sandbox or snapshot answers another tenant exactly as it answers for one that does not exist
 *   (same status, same body), and the owner gets something else (so the request did reach the sandbox).
 * - WebSocket routes likewise, message for message.
 * - A route naming neither never mentions another tenant's sandbox or snapshot.
 * - Admin routes refuse tenant keys with 403.
 */
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Quotas } from '../engine/quotas.js';
import { S3Sync } from '../engine/s3-sync.js';
import { silentLogger } from '../logger.js';
import { createS3Client } from '../storage/s3/client.js';
import { resolveS3 } from '../storage/s3/credentials.js';
import { SsrfPolicy } from '../storage/s3/ssrf.js';
import { S3RVER_KEY, startS3rver, type TestS3Server } from '../storage/s3/test-support/s3rver.js';
import { routeRegistryOf, type RegisteredRoute } from './route-registry.js';
import { API_KEY, startApi, type Harness } from './test-support/harness.js';

const BUCKET = 'tenancy-bucket';
const SNAPSHOT_PARAM = ':snapshotId';
const PROCESS_PARAM = ':processId';
// Shaped like a real id (20 of 0-9a-v), so every front end (preview host names too) takes it as one.
const MISSING_SANDBOX = 'v0000000000000000000';
const MISSING_SNAPSHOT = 'snap-missing-0000';

/** A request that reaches the sandbox (or snapshot) a route names. Routes without one get DEFAULT_SAMPLE. */
interface Sample {
  query?: string;
  /** JSON unless `raw`. */
  body?: unknown;
  raw?: boolean;
  multipart?: boolean;
  /** The first message of a WebSocket route (null: none). */
  ws?: unknown;
}

const DEFAULT_SAMPLE: Sample = { query: 'path=/tmp/f', body: {} };
/** A loopback port nothing listens on, for publishing one. */
let freeHostPort = 0;

const SAMPLES: Record<string, Sample> = {
  'POST /api/v1/sandboxes/:id/timeout': { body: { timeout: 600 } },
  'POST /api/v1/sandboxes/:id/exec': { body: { cmd: ['echo', 'hi'] } },
  'GET /api/v1/sandboxes/:id/exec/stream': { ws: { cmd: ['echo', 'hi'] } },
  'PUT /api/v1/sandboxes/:id/files': { query: 'path=/tmp/new', body: 'new data', raw: true },
  'GET /api/v1/sandboxes/:id/files/list': { query: 'path=/tmp' },
  'POST /api/v1/sandboxes/:id/files/mkdir': { query: 'path=/tmp/dir' },
  'POST /api/v1/sandboxes/:id/files/upload': { query: 'path=/tmp/uploaded', multipart: true },
  'POST /api/v1/sandboxes/:id/files/s3-import': {
    body: { bucket: BUCKET, key: 'object.txt', dest_path: '/tmp/object.txt' },
  },
  'POST /api/v1/sandboxes/:id/files/s3-export': {
    body: { bucket: BUCKET, key: 'exported.txt', source_path: '/tmp/f' },
  },
  'POST /api/v1/sandboxes/:id/processes': { body: { cmd: ['sleep', '300'], stdin: true } },
  'POST /api/v1/sandboxes/:id/processes/:processId/wait': { query: 'timeout=1' },
  'POST /api/v1/sandboxes/:id/processes/:processId/input': { body: { data: 'typed' } },
  'POST /api/v1/sandboxes/:id/processes/:processId/signal': { body: { signal: 'TERM' } },
  'POST /api/v1/sandboxes/:id/processes/:processId/resize': { body: { cols: 80, rows: 24 } },
  'GET /api/v1/sandboxes/:id/processes/:processId/attach': { query: 'replay=true', ws: null },
  'GET /api/v1/sandboxes/:id/watch': { query: 'path=/tmp', ws: null },
  'POST /api/v1/sandboxes/:id/fork': { body: { count: 1 } },
  'POST /api/v1/sandboxes/:id/ports': {
    get body() {
      return { sandbox_port: 8000, host_port: freeHostPort };
    },
  },
  'PUT /api/v1/sandboxes/:id/preview/:port': { body: { public: true } },
  'PUT /api/v1/sandboxes/:id/egress': { body: { allow: ['example.com'] } },
};

/** Routes that look at no sandbox for anyone, so only "same as a missing one" applies (none today). */
const NO_LOOKUP: Record<string, string> = {};

let s3: TestS3Server;
let api: Harness;
let alice: string;
let bob: string;
/** Alice's sandbox, snapshot and background process, which Bob tries every route on. */
let target: string;
let targetSnapshot: string;
let targetProcess: string;

function name(route: RegisteredRoute): string {
  return `${route.method} ${route.url}`;
}

async function aliceSandbox(): Promise<string> {
  const response = await send(alice, 'POST', '/api/v1/sandboxes', { body: {} });
  expect(response.status).toBe(201);
  const id = (JSON.parse(response.text) as { id: string }).id;
  await api.callers.run({ keyId: 'x', keyName: 'x', tenant: '', admin: true }, () =>
    api.engine.writeFile(id, '/tmp/f', 'original'),
  );
  return id;
}

async function aliceProcess(id: string): Promise<string> {
  const response = await send(alice, 'POST', `/api/v1/sandboxes/${id}/processes`, {
    body: { cmd: ['sleep', '300'], stdin: true },
  });
  expect(response.status).toBe(201);
  return (JSON.parse(response.text) as { id: string }).id;
}

async function aliceSnapshot(id: string): Promise<string> {
  const response = await send(alice, 'POST', `/api/v1/sandboxes/${id}/snapshots`, { body: {} });
  expect(response.status).toBe(201);
  return (JSON.parse(response.text) as { id: string }).id;
}

interface Answer {
  status: number;
  text: string;
}

async function send(key: string, method: string, path: string, sample: Sample): Promise<Answer> {
  const url = `${api.url}${path}${sample.query === undefined ? '' : `?${sample.query}`}`;
  const headers: Record<string, string> = { 'x-api-key': key };
  let body: RequestInit['body'];
  if (method !== 'GET' && method !== 'DELETE') {
    if (sample.multipart === true) {
      const form = new FormData();
      form.append('file', new Blob(['uploaded']), 'file.txt');
      body = form;
    } else if (sample.raw === true) body = String(sample.body);
    else if (sample.body !== undefined) {
      body = JSON.stringify(sample.body);
      headers['content-type'] = 'application/json';
    }
  }
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: response.status, text: await response.text() };
}

/**
 * Everything a WebSocket route sends until it closes (or 1.5 s after it opened: a watch or an attach stays open),
 * or the HTTP answer when the upgrade is refused.
 */
function converse(key: string, path: string, first: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${api.url.replace('http', 'ws')}${path}`, {
      headers: { 'x-api-key': key },
    });
    const messages: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    socket.on('open', () => {
      if (first !== null) socket.send(JSON.stringify(first));
      timer = setTimeout(() => socket.terminate(), 1500);
    });
    socket.on('message', (data) => messages.push(String(data)));
    socket.on('unexpected-response', (_request, response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    socket.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, text: messages.join('\n') });
    });
    socket.on('error', (error) => {
      if (!String(error).includes('Unexpected server response')) reject(error);
    });
  });
}

async function answer(
  key: string,
  route: RegisteredRoute,
  sandbox: string,
  snapshot: string,
  process = targetProcess,
): Promise<Answer> {
  const sample = SAMPLES[name(route)] ?? DEFAULT_SAMPLE;
  const path = route.url
    .replace(':id', sandbox)
    .replace(SNAPSHOT_PARAM, snapshot)
    .replace(PROCESS_PARAM, process)
    .replace(':port', '8080');
  const query = sample.query === undefined ? '' : `?${sample.query}`;
  const result =
    route.websocket === true
      ? await converse(key, `${path}${query}`, sample.ws === undefined ? {} : sample.ws)
      : await send(key, route.method, path, sample);
  // The same answer, whichever id was asked for.
  return {
    status: result.status,
    text: result.text
      .replaceAll(sandbox, '<sandbox>')
      .replaceAll(snapshot, '<snapshot>')
      .replaceAll(process, '<process>'),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

beforeAll(async () => {
  freeHostPort = await freePort();
  s3 = await startS3rver([BUCKET]);
  const server = {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKey: S3RVER_KEY,
    secretKey: 'tenancy-s3-secret',
    allowInternalEndpoint: true,
  };
  api = await startApi({
    s3: ({ runtime, store }) =>
      new S3Sync({
        runtime,
        store,
        server,
        policy: new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: server.endpoint }),
        logger: silentLogger,
        allowS3: true,
        maxTransferBytes: 1024 * 1024,
      }),
  });
  const connection = await createS3Client(
    resolveS3({ bucket: BUCKET }, server),
    new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: server.endpoint }),
  );
  await connection.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'object.txt', Body: 'from s3' }));
  connection.destroy();
  alice = api.keys.create({ name: 'alice', tenant: 'alpha', createdBy: 'test' }).key;
  bob = api.keys.create({ name: 'bob', tenant: 'beta', createdBy: 'test' }).key;
  target = await aliceSandbox();
  targetSnapshot = await aliceSnapshot(target);
  targetProcess = await aliceProcess(target);
});

afterAll(async () => {
  await api.close();
  await s3.stop();
});

describe('every route, as another tenant', () => {
  const routes = () => routeRegistryOf(api.app).routes;
  const isOpen = (route: RegisteredRoute) =>
    ['/api/v1/health', '/api/v1/version'].includes(route.url) || !route.url.startsWith('/api/');
  const isAdmin = (route: RegisteredRoute) => route.admin === true;
  const namesSandbox = (route: RegisteredRoute) =>
    route.url.includes(':id') || route.url.includes(SNAPSHOT_PARAM);

  it('answers for a sandbox or snapshot of another tenant exactly as for one that does not exist', async () => {
    const walked: string[] = [];
    for (const route of routes().filter((entry) => namesSandbox(entry) && !isAdmin(entry))) {
      const foreign = await answer(bob, route, target, targetSnapshot);
      const missing = await answer(bob, route, MISSING_SANDBOX, MISSING_SNAPSHOT);
      expect([name(route), foreign]).toEqual([name(route), missing]);
      walked.push(name(route));
      if (NO_LOOKUP[name(route)] !== undefined) continue;
      // The owner, on a sandbox (and snapshot) of its own, gets another answer: the sample reached the sandbox.
      const own = await aliceSandbox();
      const ownSnapshot = await aliceSnapshot(own);
      const ownProcess = await aliceProcess(own);
      const owner = await answer(alice, route, own, ownSnapshot, ownProcess);
      const ownerMissing = await answer(alice, route, MISSING_SANDBOX, MISSING_SNAPSHOT, ownProcess);
      expect(
        [name(route), owner],
        `${name(route)}: the owner's request did not reach its sandbox; give the route a sample in SAMPLES`,
      ).not.toEqual([name(route), ownerMissing]);
    }
    expect(walked).toContain('GET /api/v1/sandboxes/:id/exec/stream');
    expect(walked.length).toBeGreaterThanOrEqual(25);

    // Nothing Bob sent changed Alice's sandbox.
    const view = await send(alice, 'GET', `/api/v1/sandboxes/${target}`, {});
    expect(JSON.parse(view.text)).toMatchObject({
      id: target,
      status: 'running',
      owner: { tenant: 'alpha', key: 'alice' },
    });
    const file = await send(alice, 'GET', `/api/v1/sandboxes/${target}/files`, { query: 'path=/tmp/f' });
    expect(file.text).toBe('original');
    const listing = await send(alice, 'GET', `/api/v1/sandboxes/${target}/files/list`, {
      query: 'path=/tmp',
    });
    expect((JSON.parse(listing.text) as Array<{ name: string }>).map((entry) => entry.name)).toEqual(['f']);
    const snapshots = await send(alice, 'GET', `/api/v1/sandboxes/${target}/snapshots`, {});
    expect((JSON.parse(snapshots.text) as Array<{ id: string }>).map((entry) => entry.id)).toEqual([
      targetSnapshot,
    ]);
    // And nothing Bob tried on it succeeded.
    const bobs = api.store.audit.listAudit({ limit: 1000, keyName: 'bob' });
    expect(bobs.filter((entry) => entry.sandboxId === target)).toEqual([]);
  }, 60_000);

  it('never shows another tenant sandbox or snapshot on a route that names neither', async () => {
    const plain = routes().filter((route) => !namesSandbox(route) && !isAdmin(route) && !isOpen(route));
    expect(plain.map(name)).toEqual(expect.arrayContaining(['GET /api/v1/sandboxes', 'GET /api/v1/stats']));
    for (const route of plain) {
      if (route.websocket === true) continue;
      const seen = await send(bob, route.method, route.url, SAMPLES[name(route)] ?? DEFAULT_SAMPLE);
      expect([name(route), seen.status < 500]).toEqual([name(route), true]);
      expect([name(route), seen.text.includes(target) || seen.text.includes(targetSnapshot)]).toEqual([
        name(route),
        false,
      ]);
    }
    const list = await send(API_KEY, 'GET', '/api/v1/sandboxes', {});
    expect(list.text).toContain(target);
    expect(JSON.parse((await send(bob, 'GET', '/api/v1/stats', {})).text)).toMatchObject({
      total_sandboxes: 1,
    });
  });

  it('refuses admin routes to tenant keys with 403, and serves them to admin keys', async () => {
    const admin = routes().filter(isAdmin);
    expect(admin.map(name).sort()).toEqual([
      'DELETE /api/v1/keys/:id',
      'GET /api/v1/audit',
      'GET /api/v1/keys',
      'GET /metrics',
      'POST /api/v1/keys',
    ]);
    for (const route of admin) {
      const refused = await send(alice, route.method, route.url.replace(':id', 'alice'), {
        body: { name: 'x' },
      });
      expect([name(route), refused.status, JSON.parse(refused.text).code]).toEqual([
        name(route),
        403,
        'FORBIDDEN',
      ]);
    }
    expect((await send(API_KEY, 'GET', '/api/v1/keys', {})).status).toBe(200);
    expect((await send(API_KEY, 'GET', '/api/v1/audit', {})).status).toBe(200);
  });
});

describe('preview URLs', () => {
  /** A preview request in the host form or the path form (Node's fetch cannot set Host). */
  function preview(key: string, id: string, form: 'host' | 'path'): Promise<Answer> {
    const port = new URL(api.url).port;
    const path = form === 'host' ? '/' : `/api/v1/sandboxes/${id}/proxy/8000/`;
    const headers = {
      'x-api-key': key,
      ...(form === 'host' ? { host: `8000-${id}.localhost:${port}` } : {}),
    };
    return new Promise((resolve, reject) => {
      const request = httpRequest(`${api.url}${path}`, { headers });
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      });
      request.on('error', reject);
      request.end();
    });
  }

  it("answer another tenant's key as for a sandbox that does not exist; the owner's key goes through", async () => {
    for (const form of ['host', 'path'] as const) {
      const foreign = await preview(bob, target, form);
      const missing = await preview(bob, MISSING_SANDBOX, form);
      expect([form, foreign]).toEqual([form, missing]);
      expect(foreign.status).toBe(404);
      // Alice reaches her sandbox's port (nothing listens there: 502 from inside, not 404).
      expect([form, (await preview(alice, target, form)).status]).toEqual([form, 502]);
      expect([form, (await preview(API_KEY, target, form)).status]).toEqual([form, 502]);
    }
  });
});

describe('keys and the audit log over the admin API', () => {
  it('creates a key shown once, lists it without the key, and revokes it: it fails on its next request', async () => {
    const created = await send(API_KEY, 'POST', '/api/v1/keys', {
      body: { name: 'carol', tenant: 'gamma', expires_in: 3600 },
    });
    expect(created.status).toBe(201);
    const record = JSON.parse(created.text) as {
      id: string;
      key: string;
      tenant: string;
      prefix: string;
      created_by: string;
    };
    expect(record).toMatchObject({ tenant: 'gamma', created_by: 'config:' + record.created_by.slice(7) });
    expect(record.prefix).toBe(record.key.slice(0, 12));
    const carol = record.key;
    expect((await send(carol, 'GET', '/api/v1/sandboxes', {})).status).toBe(200);
    const listing = await send(API_KEY, 'GET', '/api/v1/keys', {});
    expect(listing.text).toContain('carol');
    expect(listing.text).not.toContain(carol);
    expect(JSON.parse(listing.text)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'carol', last_used_at: expect.any(String) })]),
    );
    const revoked = await send(API_KEY, 'DELETE', `/api/v1/keys/${record.id}`, {});
    expect(JSON.parse(revoked.text)).toMatchObject({ name: 'carol', revoked_at: expect.any(String) });
    const after = await send(carol, 'GET', '/api/v1/sandboxes', {});
    expect([after.status, JSON.parse(after.text).code]).toEqual([401, 'UNAUTHORIZED']);
    const e2b = await send(API_KEY, 'POST', '/api/v1/keys', { body: { name: 'dave', format: 'e2b' } });
    expect(JSON.parse(e2b.text).key).toMatch(/^e2b_[0-9a-f]{40}$/);
    const bad = await send(API_KEY, 'POST', '/api/v1/keys', { body: { name: 'no spaces' } });
    expect([bad.status, JSON.parse(bad.text).code]).toEqual([400, 'BAD_REQUEST']);
    expect(JSON.parse(bad.text).error).toMatch(/name: use 1-64 letters/);
    const again = await send(API_KEY, 'DELETE', `/api/v1/keys/${record.id}`, {});
    expect([again.status, JSON.parse(again.text).code]).toEqual([404, 'KEY_NOT_FOUND']);
  });

  it('answers audit queries with filters, never holding keys, env values or file contents', async () => {
    const id = (
      JSON.parse(
        (await send(alice, 'POST', '/api/v1/sandboxes', { body: { env: { API_TOKEN: 'sekrit-env' } } })).text,
      ) as { id: string }
    ).id;
    await send(alice, 'POST', `/api/v1/sandboxes/${id}/exec`, {
      body: { cmd: ['echo', 'audited'], env: { PW: 'sekrit-exec' }, stdin: 'sekrit-stdin' },
    });
    await send(alice, 'PUT', `/api/v1/sandboxes/${id}/files`, {
      query: 'path=/tmp/secret.txt',
      body: 'sekrit-file',
      raw: true,
    });
    await send(alice, 'DELETE', `/api/v1/sandboxes/${id}`, {});
    const entries = JSON.parse(
      (await send(API_KEY, 'GET', '/api/v1/audit', { query: `sandbox=${id}` })).text,
    ) as Array<Record<string, unknown>>;
    expect(entries.map((entry) => entry.action).reverse()).toEqual([
      'sandbox.create',
      'exec',
      'file.write',
      'sandbox.destroy',
    ]);
    expect(entries[2]).toMatchObject({
      key_name: 'alice',
      tenant: 'alpha',
      outcome: 'ok',
      address: '127.0.0.1',
      detail: { argv: ['echo', 'audited'] },
    });
    expect(entries[1]).toMatchObject({ detail: { path: '/tmp/secret.txt' } });
    const everything = await send(API_KEY, 'GET', '/api/v1/audit', { query: 'limit=10000' });
    expect(everything.text).not.toMatch(/sekrit/);
    for (const key of [alice, bob]) expect(everything.text).not.toContain(key);
    const byAction = JSON.parse(
      (await send(API_KEY, 'GET', '/api/v1/audit', { query: 'action=key.create&limit=2' })).text,
    ) as unknown[];
    expect(byAction).toHaveLength(2);
    for (const query of ['since=yesterday', 'limit=0', 'limit=many', 'key=a&key=b']) {
      const bad = await send(API_KEY, 'GET', '/api/v1/audit', { query });
      expect([query, bad.status, JSON.parse(bad.text).code]).toEqual([query, 400, 'VALIDATION_FAILED']);
    }
  });
});

describe('per-tenant limits through the API', () => {
  it('refuses past a quota with 429 QUOTA_EXCEEDED naming the quota and the use, and recovers', async () => {
    const limited = await startApi({
      quotas: new Quotas({ defaultQuota: { sandboxes: 1 }, unlimitedCpu: 0 }),
    });
    try {
      const key = limited.keys.create({ name: 'eve', createdBy: 'test' }).key;
      const create = () =>
        fetch(`${limited.url}/api/v1/sandboxes`, {
          method: 'POST',
          headers: { 'x-api-key': key },
          body: '{}',
        });
      const first = (await (await create()).json()) as { id: string };
      const refused = await create();
      expect(refused.status).toBe(429);
      expect(await refused.json()).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        quota: 'sandboxes',
        tenant: 'eve',
        limit: 1,
        used: 1,
        error: expect.stringMatching(/quota of 1 sandboxes at once \(1 in use/) as unknown,
      });
      await fetch(`${limited.url}/api/v1/sandboxes/${first.id}`, {
        method: 'DELETE',
        headers: { 'x-api-key': key },
      });
      expect((await create()).status).toBe(201);
    } finally {
      await limited.close();
    }
  });

  it("applies a tenant's own rate limit to its keys, and the server's to others", async () => {
    const limited = await startApi({
      rateLimitFor: (caller) => (caller.tenant === 'slow' ? { rps: 0.001, burst: 2 } : undefined),
    });
    try {
      const slow = limited.keys.create({ name: 'slow', createdBy: 'test' }).key;
      const fast = limited.keys.create({ name: 'fast', createdBy: 'test' }).key;
      const statuses = async (key: string) => {
        const seen: number[] = [];
        for (let i = 0; i < 4; i += 1)
          seen.push((await fetch(`${limited.url}/api/v1/stats`, { headers: { 'x-api-key': key } })).status);
        return seen;
      };
      expect(await statuses(slow)).toEqual([200, 200, 429, 429]);
      expect(await statuses(fast)).toEqual([200, 200, 200, 200]);
    } finally {
      await limited.close();
    }
  });
});
