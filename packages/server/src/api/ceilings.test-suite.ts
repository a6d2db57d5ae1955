/**
 * Operator maxima a request cannot lift: process, memory and CPU limits, the tmpfs total and the host port range.
 * Each refusal is a 400 naming the field, the limit and the setting; nothing is created.
 * On the fake (ceilings.test.ts) and on Docker (ceilings.docker.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

const GiB = 1024 ** 3;
export function ceilingsSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({
      runtime: kind,
      policy: {
        defaultMemory: GiB,
        maxMemory: 2 * GiB,
        defaultCpu: 0,
        maxCpu: 2e9,
        maxPidLimit: 1000,
        maxTmpfsBytes: 2 * GiB,
        hostPortRange: { min: 20_000, max: 29_999 },
      },
    });
  });
  afterAll(() => api.close());

  const create = (body: unknown) =>
    api.call('/api/v1/sandboxes', { method: 'POST', body: JSON.stringify(body) });

  interface ErrorBody {
    error: string;
    code: string;
    field?: string;
    limit?: number | string;
  }

  async function refused(body: unknown, field: string, text: RegExp, limit: number | string): Promise<void> {
    const before = api.engine.list().length;
    const response = await create(body);
    expect(response.status).toBe(400);
    const error = (await response.json()) as ErrorBody;
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', field, limit });
    expect(error.error).toMatch(text);
    expect(api.engine.list()).toHaveLength(before);
  }

  describe('operator maxima at create', () => {
    it('pid_limit', async () => {
      await refused(
        { pid_limit: 1001 },
        'pid_limit',
        /pid_limit: 1001 is above .* 1000 \(sandbox\.max_pid_limit\)/,
        1000,
      );
      await refused({ pid_limit: 2 ** 40 }, 'pid_limit', /sandbox\.max_pid_limit/, 1000);
      expect((await create({ pid_limit: 1000 })).status).toBe(201);
    });

    it('memory, with a finite default', async () => {
      await refused({ memory: 2 * GiB + 1 }, 'memory', /sandbox\.max_memory/, 2 * GiB);
      const created = (await (await create({})).json()) as { id: string };
      expect(api.engine.list().find((sandbox) => sandbox.id === created.id)?.config.memory).toBe(GiB);
    });

    it('cpu; "unlimited" means the maximum', async () => {
      await refused(
        { cpu: 3e9 },
        'cpu',
        /cpu: 3000000000 is above .* \(sandbox\.max_cpu, in nano-CPUs\)/,
        2e9,
      );
      const created = (await (await create({ cpu: 0 })).json()) as { id: string };
      expect(api.engine.list().find((sandbox) => sandbox.id === created.id)?.config.cpu).toBe(2e9);
    });

    it('the tmpfs total, defaults included', async () => {
      // The defaults are 960 MiB; two more 1g mounts pass 2 GiB.
      await refused(
        {
          storage: {
            tmpfs: [
              { path: '/a', size: '1g' },
              { path: '/b', size: '1g' },
            ],
          },
        },
        'storage.tmpfs',
        /sandbox\.max_tmpfs_total/,
        2 * GiB,
      );
      expect((await create({ storage: { tmpfs: [{ path: '/a', size: '1g' }] } })).status).toBe(201);
    });

    it('host ports outside the range', async () => {
      for (const port of [22, 5432, 8080, 19_999, 30_000]) {
        await refused(
          { network_mode: 'internal', ports: [{ sandbox_port: 80, host_port: port }] },
          'ports.host_port',
          new RegExp(`${port} is outside this server's host port range 20000-29999`),
          '20000-29999',
        );
      }
      expect((await create({ ports: [{ sandbox_port: 80, host_port: 20_000 }] })).status).toBe(201);
    });
  });

  describe('operator maxima on a running sandbox', () => {
    it('a memory update above the maximum is refused; "no limit" becomes the maximum', async () => {
      const id = await api.sandbox();
      await expect(api.engine.updateMemoryLimit(id, 4 * GiB)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/sandbox\.max_memory/) as string,
      });
      await api.engine.updateMemoryLimit(id, 0);
      // The limit in force (info's config stays what the sandbox was created with).
      expect((await api.runtime.stats(id)).memoryLimit).toBe(2 * GiB);
    });
  });
}
