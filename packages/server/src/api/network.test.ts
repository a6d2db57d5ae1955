/** Den's port routes made real, and the egress routes, over the in-memory runtime. */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../test-support/free-port.js';
import { fakeOf, startApi, type Harness } from './test-support/harness.js';

let api: Harness;
const refused = new Map<string, number>();

beforeAll(async () => {
  api = await startApi({
    policy: { defaultNetworkMode: 'bridge' },
    refusals: { refused: (id) => refused.get(id) ?? 0, forget: (id) => refused.delete(id) },
  });
});
afterAll(() => api.close());

const json = (body: unknown, method = 'POST'): RequestInit => ({ method, body: JSON.stringify(body) });

/** Sends `text` to a host port and resolves with what comes back before the close. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
    socket.end(text);
  });
}

async function echoSandbox(): Promise<string> {
  const id = await api.sandbox();
  fakeOf(api).ports.serve(id, 7000, (connection) => {
    let got = '';
    connection.on('data', (chunk: Buffer) => (got += chunk.toString()));
    connection.on('end', () => connection.end(`echo:${got}`));
  });
  return id;
}

describe('published ports', () => {
  it('publishes with POST, carries TCP both ways, lists, and removes with DELETE', async () => {
    const id = await echoSandbox();
    const hostPort = await freePort();
    const created = await api.call(
      `/api/v1/sandboxes/${id}/ports`,
      json({ sandbox_port: 7000, host_port: hostPort }),
    );
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ sandbox_port: 7000, host_port: hostPort, protocol: 'tcp' });
    expect(await roundTrip(hostPort, 'ping')).toBe('echo:ping');
    expect(await (await api.call(`/api/v1/sandboxes/${id}/ports`)).json()).toEqual([
      { sandbox_port: 7000, host_port: hostPort, protocol: 'tcp' },
    ]);
    const removed = await api.call(`/api/v1/sandboxes/${id}/ports/${hostPort}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    await expect(roundTrip(hostPort, 'ping')).rejects.toThrow(/ECONNREFUSED/);
    expect(await (await api.call(`/api/v1/sandboxes/${id}/ports`)).text()).toBe('[]');
    const again = await api.call(`/api/v1/sandboxes/${id}/ports/${hostPort}`, { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ code: 'PORT_NOT_PUBLISHED' });
  });

  it('publishes create-time ports in every network mode and releases them at destroy', async () => {
    const hostPort = await freePort();
    const created = await api.call(
      '/api/v1/sandboxes',
      json({ network_mode: 'none', ports: [{ sandbox_port: 7000, host_port: hostPort }] }),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(api.publisher.isBound(id, hostPort)).toBe(true);
    await api.call(`/api/v1/sandboxes/${id}`, { method: 'DELETE' });
    expect(api.publisher.isBound(id, hostPort)).toBe(false);
  });

  it('answers a taken host port with 409 and creates nothing', async () => {
    const id = await echoSandbox();
    const hostPort = await freePort();
    await api.call(`/api/v1/sandboxes/${id}/ports`, json({ sandbox_port: 7000, host_port: hostPort }));
    const clash = await api.call(
      `/api/v1/sandboxes/${id}/ports`,
      json({ sandbox_port: 7001, host_port: hostPort }),
    );
    expect(clash.status).toBe(409);
    expect(await clash.json()).toMatchObject({ code: 'CONFLICT', host_port: hostPort });
    const before = api.engine.list().length;
    const create = await api.call(
      '/api/v1/sandboxes',
      json({ ports: [{ sandbox_port: 1, host_port: hostPort }] }),
    );
    expect(create.status).toBe(409);
    expect(await create.json()).toMatchObject({ error: expect.stringMatching(/choose another host_port/) });
    expect(api.engine.list().length).toBe(before);
  });

  it('refuses malformed requests with 400 and unknown sandboxes with 404', async () => {
    const id = await api.sandbox();
    for (const body of [
      {},
      { sandbox_port: 0, host_port: 1 },
      { sandbox_port: 1, host_port: 1, protocol: 'udp' },
    ]) {
      expect((await api.call(`/api/v1/sandboxes/${id}/ports`, json(body))).status).toBe(400);
    }
    expect((await api.call(`/api/v1/sandboxes/${id}/ports/abc`, { method: 'DELETE' })).status).toBe(400);
    const port = await freePort();
    expect(
      (await api.call('/api/v1/sandboxes/nope/ports', json({ sandbox_port: 1, host_port: port }))).status,
    ).toBe(404);
  });
});

describe('egress policies and secrets', () => {
  const secret = 'Bearer top-secret-value-42';

  it('keeps secret values out of every answer and shows where they apply', async () => {
    const created = await api.call(
      '/api/v1/sandboxes',
      json({
        egress: { allow: ['api.example.com', '*.debian.org'] },
        secrets: [{ host: 'api.example.com', header: 'Authorization', value: secret }],
      }),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const texts = await Promise.all(
      [`/api/v1/sandboxes/${id}`, '/api/v1/sandboxes', `/api/v1/sandboxes/${id}/egress`].map(async (path) =>
        (await api.call(path)).text(),
      ),
    );
    for (const text of texts) expect(text).not.toContain('top-secret');
    expect(JSON.parse(texts[0] ?? '{}')).toMatchObject({
      egress: { allow: ['api.example.com', '*.debian.org'], deny: [] },
      secrets: [{ host: 'api.example.com', header: 'Authorization' }],
    });
    const info = await api.runtime.info(id);
    expect(JSON.stringify(info.config)).not.toContain('top-secret');
    expect(info.config?.env?.SSL_CERT_FILE).toBe('/run/burrow/ca-certificates.crt');
    expect(api.store.getSandboxSecret(id, 'egress-ca-key')).toMatch(/BEGIN PRIVATE KEY/);
  });

  it('refuses secrets without a policy or for hosts the policy does not allow, without echoing the value', async () => {
    for (const body of [
      { secrets: [{ host: 'a.com', header: 'X-Key', value: secret }] },
      { egress: { allow: ['b.com'] }, secrets: [{ host: 'a.com', header: 'X-Key', value: secret }] },
      { egress: { allow: ['a.com'] }, secrets: [{ host: 'a.com', header: 'Host', value: secret }] },
      {
        egress: { allow: ['a.com'] },
        secrets: [{ host: 'a.com', header: 'X-Key', value: `${secret}\r\nX: y` }],
      },
    ]) {
      const response = await api.call('/api/v1/sandboxes', json(body));
      expect(response.status).toBe(400);
      expect(await response.text()).not.toContain('top-secret');
    }
  });

  it('replaces the policy of a running sandbox and counts refusals in stats', async () => {
    const { id } = (await (
      await api.call('/api/v1/sandboxes', json({ egress: { allow: ['a.com'] } }))
    ).json()) as {
      id: string;
    };
    const changed = await api.call(
      `/api/v1/sandboxes/${id}/egress`,
      json({ allow: ['b.com'], deny: ['c.b.com'] }, 'PUT'),
    );
    expect(await changed.json()).toEqual({
      policy: { allow: ['b.com'], deny: ['c.b.com'] },
      secrets: [],
      refused: 0,
    });
    refused.set(id, 3);
    expect(await (await api.call(`/api/v1/sandboxes/${id}/stats`)).json()).toMatchObject({
      egress_refused: 3,
    });
    expect((await api.call(`/api/v1/sandboxes/${id}/egress`, json({ allow: ['x y'] }, 'PUT'))).status).toBe(
      400,
    );
    const plain = await api.sandbox();
    const conflict = await api.call(`/api/v1/sandboxes/${plain}/egress`, json({ allow: ['b.com'] }, 'PUT'));
    expect(conflict.status).toBe(409);
    expect(await (await api.call(`/api/v1/sandboxes/${plain}/egress`)).json()).toEqual({
      policy: null,
      secrets: [],
      refused: 0,
    });
  });
});
