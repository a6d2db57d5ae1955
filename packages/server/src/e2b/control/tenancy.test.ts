/**
 * The E2B control plane on a shared server: each request runs as its key's caller, so a tenant's key lists and
 * reaches its own sandboxes only, and another tenant's answer E2B's 404 exactly as ones that do not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../engine/caller.js';
import { e2bFormOf } from '../access.js';
import { startFakeEndpoint, TEST_KEY, type FakeEndpoint } from '../test-support/fake-endpoint.js';

const CALLERS: Record<string, Caller> = {
  [TEST_KEY]: { keyId: 'config:0', keyName: 'config:0', tenant: '', admin: true },
  'alice-key': { keyId: 'key_a', keyName: 'alice', tenant: 'alpha', admin: false },
  'bob-key': { keyId: 'key_b', keyName: 'bob', tenant: 'beta', admin: false },
};

let e2b: FakeEndpoint;
beforeAll(async () => {
  e2b = await startFakeEndpoint({
    auth: true,
    keys: { enabled: true, resolve: (key) => CALLERS[key] },
  });
});
afterAll(async () => {
  await e2b?.close();
});

async function call(key: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${e2b.url}${path}`, {
    method,
    headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

describe('E2B control plane with tenants', () => {
  it("shows a tenant its own sandboxes only, and another tenant's as missing on every route", async () => {
    const created = await call('alice-key', 'POST', '/v2/sandboxes', { templateID: 'base' });
    expect(created.status).toBe(201);
    const id = (created.body as { sandboxID: string }).sandboxID;
    expect(e2b.engine.list().find((view) => view.id === id)?.owner?.tenant).toBe('alpha');

    const ids = async (key: string, path: string) =>
      ((await call(key, 'GET', path)).body as Array<{ sandboxID: string }>).map((entry) => entry.sandboxID);
    for (const path of ['/sandboxes', '/v2/sandboxes']) {
      expect(await ids('alice-key', path)).toEqual([id]);
      expect(await ids('bob-key', path)).toEqual([]);
      expect(await ids(TEST_KEY, path)).toContain(id);
    }

    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/sandboxes/:id'],
      ['GET', '/sandboxes/:id/metrics'],
      ['POST', '/sandboxes/:id/timeout', { timeout: 60 }],
      ['POST', '/sandboxes/:id/refreshes', { duration: 60 }],
      ['POST', '/sandboxes/:id/connect', { timeout: 60 }],
      ['POST', '/v2/sandboxes/:id/connect', { timeout: 60 }],
      ['POST', '/sandboxes/:id/resume', {}],
      ['POST', '/sandboxes/:id/pause'],
      ['DELETE', '/sandboxes/:id'],
    ];
    for (const [method, path, body] of routes) {
      const foreign = await call('bob-key', method, path.replace(':id', id), body);
      const missing = await call('bob-key', method, path.replace(':id', 'missing0000000000000'), body);
      const same =
        JSON.stringify(foreign.body).replaceAll(id, 'X') ===
        JSON.stringify(missing.body).replace(/missing0+/g, 'X');
      expect([method, path, foreign.status, same]).toEqual([method, path, 404, true]);
    }
    // Nothing Bob tried touched it; an e2b_<hex> form of Alice's key is Alice.
    expect(e2b.engine.list().find((view) => view.id === id)?.status).toBe('running');
    expect(await ids(e2bFormOf('alice-key'), '/v2/sandboxes')).toEqual([id]);
    expect((await call('alice-key', 'DELETE', `/sandboxes/${id}`)).status).toBe(204);
  });
});
