/**
 * Nothing a sandbox produces grows the server's memory without bound: a synchronous exec keeps at most
 * `exec.max_output_bytes` per stream (then `truncated: true`), and a directory listing at most
 * `server.max_list_entries` entries (then the `Burrow-Truncated` header).
 * On the fake (bounds.test.ts) and on Docker (bounds.docker.test.ts).
 */
import { Burrow } from '@burrow/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function boundsSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind, limits: { maxOutputBytes: 1000, maxListEntries: 3 } });
  });
  afterAll(() => api.close());

  const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

  describe('sync exec output', () => {
    it('is cut at exec.max_output_bytes per stream and says truncated', async () => {
      const id = await api.sandbox();
      const response = await api.call(
        `/api/v1/sandboxes/${id}/exec`,
        json({ cmd: ['head', '-c', '500000', '/dev/zero'] }),
      );
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ exit_code: 0, timed_out: false, truncated: true });
      expect((body.stdout as string).length).toBe(1000);
    });

    it("keeps Den's keys when nothing was cut", async () => {
      const id = await api.sandbox();
      const response = await api.call(`/api/v1/sandboxes/${id}/exec`, json({ cmd: ['echo', 'small'] }));
      expect(await response.json()).toEqual({
        exit_code: 0,
        stdout: 'small\n',
        stderr: '',
        timed_out: false,
      });
    });

    it('reaches the SDK as truncated', async () => {
      const id = await api.sandbox();
      const sandbox = await new Burrow({ url: api.url, apiKey: API_KEY }).get(id);
      const result = await sandbox.commands.run(['head', '-c', '5000', '/dev/zero']);
      expect(result.stdout.length).toBe(1000);
      expect(result.truncated).toBe(true);
    });
  });

  describe('sync exec output answered while the command runs', () => {
    const LIMIT = 1_500_000;
    let large: Harness;
    beforeAll(async () => {
      large = await startApi({ runtime: kind, limits: { maxOutputBytes: LIMIT } });
    });
    afterAll(() => large.close());

    it('is cut at exec.max_output_bytes too and says truncated, with the real exit code', async () => {
      const id = await large.sandbox();
      const response = await large.call(
        `/api/v1/sandboxes/${id}/exec`,
        json({ cmd: ['sh', '-c', 'head -c 4000000 /dev/zero; exit 5'] }),
      );
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ exit_code: 5, stderr: '', timed_out: false, truncated: true });
      expect((body.stdout as string).length).toBe(LIMIT);
    });
  });

  describe('directory listings', () => {
    it('are cut at server.max_list_entries with the Burrow-Truncated header', async () => {
      const id = await api.sandbox();
      for (const name of ['a', 'b', 'c', 'd', 'e']) await api.engine.writeFile(id, `/tmp/${name}`, name);
      const response = await api.call(`/api/v1/sandboxes/${id}/files/list?path=/tmp`);
      expect(response.status).toBe(200);
      expect(response.headers.get('burrow-truncated')).toBe('true');
      expect((await response.json()) as unknown[]).toHaveLength(3);

      const sandbox = await new Burrow({ url: api.url, apiKey: API_KEY }).get(id);
      const listing = await sandbox.files.listEntries('/tmp');
      expect(listing.truncated).toBe(true);
      expect(listing.entries).toHaveLength(3);
    });

    it('carry no header when complete', async () => {
      const id = await api.sandbox();
      await api.engine.writeFile(id, '/tmp/only', 'x');
      const response = await api.call(`/api/v1/sandboxes/${id}/files/list?path=/tmp`);
      expect(response.headers.get('burrow-truncated')).toBeNull();
      expect((await response.json()) as unknown[]).toHaveLength(1);
    });

    it('ask the runtime for the limit, not for everything', async () => {
      const id = await api.sandbox();
      const asked: (number | undefined)[] = [];
      const listDir = api.runtime.listDir.bind(api.runtime);
      api.runtime.listDir = (sandbox, path, options) => {
        asked.push(options?.maxEntries);
        return listDir(sandbox, path, options);
      };
      try {
        await api.engine.listDir(id, '/tmp');
      } finally {
        api.runtime.listDir = listDir;
      }
      expect(asked).toEqual([3]);
    });
  });
}
