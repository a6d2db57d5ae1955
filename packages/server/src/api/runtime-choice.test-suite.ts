/** The isolation runtime of a create, on the fake (runtime-choice.test.ts) and on Docker with runsc (runtime-choice.docker.test.ts). */
/** The isolation runtime of a create: server default, operator's allowed set, what the backend has, and the wire. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeOnly } from './test-support/cases.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function runtimeChoiceSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind, policy: { allowedRuntimes: ['runc', 'gvisor'] } });
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
      expect((await api.runtime.isolations()).map((entry) => entry.runtime)).toContain('gvisor');
    });

    it('refuses an unknown runtime and one the operator does not allow, naming what is there', async () => {
      const unknown = await create({ runtime: 'kata' });
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        error: expect.stringContaining('"runc" or "gvisor"'),
      });
      const narrow = await startApi({ runtime: kind, policy: { allowedRuntimes: ['runc'] } });
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
    });

    fakeOnly(kind, 'a host without runsc is simulated by narrowing the fake')(
      'refuses a runtime the host lacks, naming what is there',
      async () => {
        const fake = api.fake;
        if (fake === undefined) throw new Error('the fake runtime is missing');
        fake.isolationSupport = [{ runtime: 'runc', networkModes: ['none', 'internal', 'bridge'] }];
        try {
          const missing = await create({ runtime: 'gvisor' });
          expect(missing.status).toBe(400);
          expect(await missing.json()).toMatchObject({ error: expect.stringContaining('available: runc') });
        } finally {
          fake.isolationSupport = [
            { runtime: 'runc', networkModes: ['none', 'internal', 'bridge'] },
            { runtime: 'gvisor', networkModes: ['none', 'internal', 'bridge'] },
          ];
        }
      },
    );

    it('lists the runtimes the server offers in /health', async () => {
      const health = (await (await api.call('/api/v1/health')).json()) as {
        features: string[];
        runtimes: unknown[];
      };
      expect(health.features).toContain('runtime_choice');
      // What the backend offers: on the fake every mode of both; on Docker what this host registered.
      expect(health.runtimes).toEqual(
        (await api.runtime.isolations()).map((entry) => ({
          runtime: entry.runtime,
          network_modes: entry.networkModes,
        })),
      );
      expect(health.runtimes).toContainEqual({
        runtime: 'runc',
        network_modes: ['none', 'internal', 'bridge'],
      });
    });
  });
}
