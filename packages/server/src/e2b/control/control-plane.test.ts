/** The E2B control plane on a real loopback listener over the in-memory runtime: shapes, statuses, errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2bFormOf } from '../access.js';
import { startFakeEndpoint, TEST_KEY, type FakeEndpoint } from '../test-support/fake-endpoint.js';

let e2b: FakeEndpoint;

beforeAll(async () => {
  e2b = await startFakeEndpoint({ auth: true });
});
afterAll(async () => {
  await e2b?.close();
});

async function call(method: string, path: string, body?: unknown, key: string | null = TEST_KEY) {
  const headers: Record<string, string> = {};
  if (key !== null) headers['x-api-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${e2b.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

async function create(body: Record<string, unknown> = {}): Promise<{ sandboxID: string }> {
  const created = await call('POST', '/v2/sandboxes', { templateID: 'base', ...body });
  expect(created.status).toBe(201);
  return created.body as { sandboxID: string };
}

describe('E2B control plane', () => {
  it("creates on both paths with E2B's shape, an access token per sandbox and the sandbox domain", async () => {
    for (const path of ['/sandboxes', '/v2/sandboxes']) {
      const created = await call('POST', path, {
        templateID: 'base',
        timeout: 120,
        metadata: { suite: 'cp' },
      });
      expect(created.status).toBe(201);
      const body = created.body as Record<string, unknown>;
      expect(body).toMatchObject({
        templateID: 'base',
        clientID: 'burrow',
        envdVersion: '0.5.7',
        domain: e2b.endpoint.domain,
        // Auth is on: sandbox ports take requests with a token only.
        trafficAccessToken: e2b.tokens.trafficTokenFor(String(body.sandboxID)),
      });
      expect(body.envdAccessToken).toBe(e2b.tokens.tokenFor(String(body.sandboxID)));
      const record = e2b.engine.list().find((view) => view.id === body.sandboxID);
      expect(record?.config.labels).toMatchObject({ 'e2b.template': 'base', 'e2b.metadata.suite': 'cp' });
      expect(record?.config.writableRootfs).toBe(true);
      expect(record!.expiresAt!.getTime() - record!.createdAt.getTime()).toBe(120_000);
    }
    const options = await call('POST', '/v2/sandboxes', {
      templateID: 'base',
      envVars: { A: 'b' },
      volumeMounts: [{ name: 'shared-data', path: '/data' }],
      network: { allowPublicTraffic: false },
      allow_internet_access: true,
    });
    expect(options.status).toBe(201);
    const made = e2b.engine
      .list()
      .find((view) => view.id === (options.body as { sandboxID: string }).sandboxID);
    expect(made?.config).toMatchObject({
      env: { A: 'b' },
      storage: { volumes: [{ name: 'shared-data', mountPath: '/data', readOnly: false }] },
      labels: { 'e2b.public_traffic': 'false' },
      // Internet access follows the server's default network mode (internal here), never more open.
      networkMode: 'internal',
    });
    const custom = await call('POST', '/v2/sandboxes', { templateID: 'custom' });
    expect(custom.status).toBe(201);
    expect(
      e2b.engine.list().find((view) => view.id === (custom.body as { sandboxID: string }).sandboxID)?.image,
    ).toBe('custom-image:1');
  });

  it("takes Burrow keys, also as e2b_<hex>, and answers 401 in E2B's error shape otherwise", async () => {
    expect((await call('GET', '/v2/sandboxes', undefined, e2bFormOf(TEST_KEY))).status).toBe(200);
    expect(await call('GET', '/v2/sandboxes', undefined, null)).toMatchObject({
      status: 401,
      body: { code: 401, message: expect.stringMatching(/missing API key/) },
    });
    expect((await call('GET', '/v2/sandboxes', undefined, 'e2b_00ff')).status).toBe(401);
    expect((await call('GET', '/v2/sandboxes', undefined, 'wrong')).body).toMatchObject({ code: 401 });
  });

  it('refuses what it cannot do, unknown templates and malformed bodies with 4xx and a message', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ templateID: 'nope' }, 404, /template "nope" is not known/],
      [{ templateID: 'base', autoPause: true }, 400, /autoPause: pausing when the timeout passes/],
      [{ templateID: 'base', network: { denyOut: ['0.0.0.0/0'] } }, 400, /network\.denyOut/],
      [{ templateID: 'base', mcp: { server: {} } }, 400, /mcp/],
      [{ templateID: 'base', timeout: 'soon' }, 400, /timeout/],
      [{}, 400, /templateID/],
      ['{not json', 400, /JSON/i],
    ];
    for (const [body, status, message] of cases) {
      const answer = await call('POST', '/v2/sandboxes', body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect((answer.body as { code: number; message: string }).code).toBe(status);
      expect((answer.body as { message: string }).message).toMatch(message);
    }
    expect(await call('GET', '/no/such/route')).toMatchObject({ status: 404, body: { code: 404 } });
  });

  it('gets one sandbox in detail, kills it (204, then 404) and 404s what is not there', async () => {
    const { sandboxID } = await create({ metadata: { who: 'detail' } });
    const detail = await call('GET', `/sandboxes/${sandboxID}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      sandboxID,
      templateID: 'base',
      state: 'running',
      metadata: { who: 'detail' },
      envdVersion: '0.5.7',
      envdAccessToken: e2b.tokens.tokenFor(sandboxID),
      allowInternetAccess: false,
    });
    const body = detail.body as { startedAt: string; endAt: string; cpuCount: number; memoryMB: number };
    expect(Date.parse(body.endAt)).toBeGreaterThan(Date.parse(body.startedAt));
    expect(body.cpuCount).toBeGreaterThan(0);
    expect(body.memoryMB).toBeGreaterThan(0);
    expect((await call('DELETE', `/sandboxes/${sandboxID}`)).status).toBe(204);
    expect(await call('DELETE', `/sandboxes/${sandboxID}`)).toMatchObject({
      status: 404,
      body: { code: 404 },
    });
    expect((await call('GET', `/sandboxes/${sandboxID}`)).status).toBe(404);
  });

  it('lists with metadata and state filters and X-Next-Token pages, newest first', async () => {
    const mine = [];
    for (let index = 0; index < 5; index += 1)
      mine.push((await create({ metadata: { list: 'yes', n: String(index) } })).sandboxID);
    await create({ metadata: { list: 'no' } });
    const metadata = encodeURIComponent(new URLSearchParams({ list: 'yes' }).toString());
    const seen: string[] = [];
    let token: string | null = null;
    for (let page = 0; page < 5; page += 1) {
      const query: string = `metadata=${metadata}&limit=2&state=running,paused${token === null ? '' : `&nextToken=${token}`}`;
      const answer = await call('GET', `/v2/sandboxes?${query}`);
      expect(answer.status).toBe(200);
      seen.push(...(answer.body as { sandboxID: string }[]).map((item) => item.sandboxID));
      token = answer.headers.get('x-next-token');
      if (token === null) break;
    }
    expect(seen).toEqual([...mine].reverse());
    const byTemplate = await call('GET', `/v2/sandboxes?metadata=${metadata}&template=base&limit=100`);
    expect((byTemplate.body as unknown[]).length).toBe(5);
    expect((await call('GET', `/v2/sandboxes?metadata=${metadata}&template=custom`)).body).toEqual([]);
    const paused = await call('GET', `/v2/sandboxes?metadata=${metadata}&state=paused`);
    expect(paused.body).toEqual([]);
    const old = await call('GET', `/sandboxes?metadata=${metadata}`);
    expect((old.body as unknown[]).length).toBe(5);
    expect((await call('GET', '/v2/sandboxes?nextToken=garbage')).status).toBe(400);
    expect((await call('GET', '/v2/sandboxes?limit=0')).status).toBe(400);
  });

  it('sets the timeout and connects to a running sandbox (200, the timeout only grows)', async () => {
    const { sandboxID } = await create({ timeout: 60 });
    const expiry = () =>
      e2b.engine
        .list()
        .find((view) => view.id === sandboxID)!
        .expiresAt!.getTime();
    expect((await call('POST', `/sandboxes/${sandboxID}/timeout`, { timeout: 600 })).status).toBe(204);
    expect(expiry()).toBeGreaterThan(Date.now() + 590_000);
    const connected = await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { timeout: 30 });
    expect(connected.status).toBe(200);
    expect(connected.body).toMatchObject({ sandboxID, envdAccessToken: e2b.tokens.tokenFor(sandboxID) });
    expect(expiry()).toBeGreaterThan(Date.now() + 590_000);
    expect((await call('POST', `/sandboxes/${sandboxID}/connect`, { timeout: 3600 })).status).toBe(200);
    expect(expiry()).toBeGreaterThan(Date.now() + 3_590_000);
    expect((await call('POST', `/sandboxes/${sandboxID}/timeout`, { timeout: 0 })).status).toBe(400);
  });

  it('pauses (204, then 409), lists and shows it paused, and connect resumes it (201)', async () => {
    const { sandboxID } = await create({ metadata: { pausing: 'yes' } });
    expect((await call('POST', `/sandboxes/${sandboxID}/pause`, {})).status).toBe(204);
    expect(e2b.engine.list().find((view) => view.id === sandboxID)?.status).toBe('paused');
    expect(await call('POST', `/sandboxes/${sandboxID}/pause`, {})).toMatchObject({
      status: 409,
      body: { code: 409, message: expect.stringMatching(/already paused/) },
    });
    expect((await call('GET', `/sandboxes/${sandboxID}`)).body).toMatchObject({ state: 'paused' });
    const metadata = encodeURIComponent(new URLSearchParams({ pausing: 'yes' }).toString());
    const listed = await call('GET', `/v2/sandboxes?metadata=${metadata}&state=paused`);
    expect((listed.body as { sandboxID: string }[]).map((item) => item.sandboxID)).toEqual([sandboxID]);
    expect((await call('GET', `/v2/sandboxes?metadata=${metadata}&state=running`)).body).toEqual([]);
    const resumed = await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { timeout: 60 });
    expect(resumed).toMatchObject({ status: 201, body: { sandboxID } });
    expect(e2b.engine.list().find((view) => view.id === sandboxID)?.status).toBe('running');
    // The first API's resume: a running sandbox is a conflict there.
    expect((await call('POST', `/sandboxes/${sandboxID}/resume`, {})).status).toBe(409);
    expect((await call('POST', `/sandboxes/${sandboxID}/pause`, {})).status).toBe(204);
    expect((await call('POST', `/sandboxes/${sandboxID}/resume`, {})).status).toBe(201);
    expect((await call('POST', '/sandboxes/nope/pause', {})).status).toBe(404);
  });

  it('connects to a stopped sandbox only when a cold boot is acceptable (201), and reports metrics', async () => {
    const { sandboxID } = await create();
    const metrics = await call('GET', `/sandboxes/${sandboxID}/metrics`);
    expect(metrics.status).toBe(200);
    expect((metrics.body as Record<string, unknown>[])[0]).toMatchObject({
      cpuCount: expect.any(Number),
      memUsed: expect.any(Number),
    });
    await e2b.engine.stop(sandboxID);
    const refused = await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { timeout: 60 });
    expect(refused).toMatchObject({
      status: 409,
      body: { message: expect.stringMatching(/onResume 'reboot'/) },
    });
    const rebooted = await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { timeout: 60, memory: false });
    expect(rebooted.status).toBe(201);
    expect(e2b.engine.list().find((view) => view.id === sandboxID)?.status).toBe('running');
  });
});
