/** The isolation runtime of a create: server default, operator's allowed set, what the backend has, and the wire. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness } from './test-support/harness.js';

let api: Harness;
beforeAll(async () => {
  api = await startApi({ policy: { allowedRuntimes: ['runc', 'gvisor'] } });
});
afterAll(() => api.close());

const create = (body: unknown) =>
  api.call('/api/v1/sandboxes', {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });

describe('runtime in a create', () => {
  it('runs runc by default and gvisor on request, and says so in info (and in lists when not runc)', async () => {
    const plain = (await (await create({})).json()) as Record<string, unknown>;
    expect(plain.runtime).toBeUndefined();
    expect(
      ((await (await api.call(`/api/v1/sandboxes/${String(plain.id)}`)).json()) as Record<string, unknown>)
        .runtime,
    ).toBe('runc');
    const response = await create({ runtime: 'gvisor' });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body.runtime).toBe('gvisor');
    const listed = (await (await api.call('/api/v1/sandboxes')).json()) as Record<string, unknown>[];
    expect(listed.find((sandbox) => sandbox.id === body.id)?.runtime).toBe('gvisor');
    expect(api.runtime.isolationSupport.map((entry) => entry.runtime)).toContain('gvisor');
  });

  it('refuses an unknown runtime, one the operator does not allow, and one the host lacks, naming what is there', async () => {
    const unknown = await create({ runtime: 'kata' });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      error: expect.stringContaining('"runc" or "gvisor"'),
    });
    const narrow = await startApi({ policy: { allowedRuntimes: ['runc'] } });
    try {
      const refused = await narrow.call('/api/v1/sandboxes', {
        method: 'POST',
        body: JSON.stringify({ runtime: 'gvisor' }),
      });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({
        code: 'POLICY_VIOLATION',
        error: expect.stringContaining('allowed: runc'),
      });
    } finally {
      await narrow.close();
    }
    api.runtime.isolationSupport = [{ runtime: 'runc', networkModes: ['none', 'internal', 'bridge'] }];
    try {
      const missing = await create({ runtime: 'gvisor' });
      expect(missing.status).toBe(400);
      expect(await missing.json()).toMatchObject({ error: expect.stringContaining('available: runc') });
    } finally {
      api.runtime.isolationSupport = [
        { runtime: 'runc', networkModes: ['none', 'internal', 'bridge'] },
        { runtime: 'gvisor', networkModes: ['none', 'internal', 'bridge'] },
      ];
    }
  });

  it('lists the runtimes the server offers in /health', async () => {
    const health = (await (await api.call('/api/v1/health')).json()) as {
      features: string[];
      runtimes: unknown[];
    };
    expect(health.features).toContain('runtime_choice');
    expect(health.runtimes).toEqual([
      { runtime: 'runc', network_modes: ['none', 'internal', 'bridge'] },
      { runtime: 'gvisor', network_modes: ['none', 'internal', 'bridge'] },
    ]);
  });
});
