/** The exec route, on the fake (exec.test.ts) and on Docker (exec.docker.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function execRouteSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind });
  });
  afterAll(() => api.close());

  function exec(id: string, body: unknown, init: RequestInit = {}): Promise<Response> {
    return api.call(`/api/v1/sandboxes/${id}/exec`, { method: 'POST', body: JSON.stringify(body), ...init });
  }

  const sleeping = (id: string) => api.processes(id, ['sleep', '30']);

  describe('POST /sandboxes/{id}/exec', () => {
    it("returns Den's result keys plus timed_out", async () => {
      const id = await api.sandbox();
      const response = await exec(id, { cmd: ['echo', 'hello'] });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        exit_code: 0,
        stdout: 'hello\n',
        stderr: '',
        timed_out: false,
      });
    });

    it('reports a non-zero exit as a 200 result, with env and workdir', async () => {
      const id = await api.sandbox();
      const failed = await exec(id, { cmd: ['sh', '-c', 'echo oops >&2; exit 3'] });
      expect(failed.status).toBe(200);
      expect(await failed.json()).toMatchObject({ exit_code: 3, stderr: 'oops\n' });
      const env = await exec(id, { cmd: ['env'], env: { GREETING: 'hi' } });
      expect(((await env.json()) as { stdout: string }).stdout.split('\n')).toContain('GREETING=hi');
      const pwd = await exec(id, { cmd: ['pwd'], workdir: '/tmp' });
      expect(((await pwd.json()) as { stdout: string }).stdout).toBe('/tmp\n');
    });

    it('feeds the stdin text extension to the process', async () => {
      const id = await api.sandbox();
      const response = await exec(id, { cmd: ['cat'], stdin: 'from stdin' });
      expect(((await response.json()) as { stdout: string }).stdout).toBe('from stdin');
    });

    it('kills the process at the timeout: 200, exit 124, timed_out', async () => {
      const id = await api.sandbox();
      const started = Date.now();
      const response = await exec(id, { cmd: ['sleep', '30'], timeout: 1 });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ exit_code: 124, timed_out: true });
      // Generous: a loaded 2-core machine is slow, but a timeout that did not fire would take 30 s.
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(await sleeping(id)).toBe(0);
    });

    it('answers large output (streamed JSON) the same way', async () => {
      const id = await api.sandbox();
      const response = await exec(id, { cmd: ['head', '-c', '1500000', '/dev/zero'] });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
      const body = (await response.json()) as { stdout: string; exit_code: number; truncated?: boolean };
      expect(body.stdout).toBe('\0'.repeat(1_500_000));
      expect(body.exit_code).toBe(0);
      expect(body.truncated).toBeUndefined();
    });

    it('starts a large answer while the command still runs, and kills it when the client leaves', async () => {
      const id = await api.sandbox();
      const script = 'head -c 3000000 /dev/zero; sleep 30';
      const running = () => api.processes(id, ['sh', '-c', script]);
      const controller = new AbortController();
      const response = await exec(id, { cmd: ['sh', '-c', script] }, { signal: controller.signal });
      // The status and the first bytes arrive while the command sleeps: the answer did not wait for its end.
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toMatch(/^\{"stdout":"(\\u0000)*/);
      expect(await running()).toBeGreaterThan(0);
      controller.abort();
      await reader.cancel().catch(() => undefined);
      await expect.poll(running, { timeout: 10_000 }).toBe(0);
    });

    it('ends a streamed answer with stderr, the exit code and timed_out', async () => {
      const id = await api.sandbox();
      const response = await exec(id, {
        cmd: ['sh', '-c', 'head -c 2000000 /dev/zero; echo oops >&2; exit 3'],
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        exit_code: 3,
        stdout: '\0'.repeat(2_000_000),
        stderr: 'oops\n',
        timed_out: false,
      });
    });

    it('replaces invalid UTF-8 in output with U+FFFD', async () => {
      const id = await api.sandbox();
      await api.engine.writeFile(id, '/tmp/bytes', Buffer.from([0x61, 0xff, 0x62]));
      const response = await exec(id, { cmd: ['cat', '/tmp/bytes'] });
      expect(((await response.json()) as { stdout: string }).stdout).toBe('a\uFFFDb');
    });

    it.each([
      [{}, /^cmd is required/],
      [{ cmd: [] }, /^cmd is required/],
      [{ cmd: 'ls -la' }, /not a shell string/],
      [{ cmd: ['ls', 1] }, /array of strings/],
      [{ cmd: ['ls'], timeout: 'soon' }, /timeout: expected number/],
    ])('refuses %j with 400', async (body, message) => {
      const id = await api.sandbox();
      const response = await exec(id, body);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(message);
    });

    it('refuses an empty body with 400 (Den requires one)', async () => {
      const id = await api.sandbox();
      const response = await api.call(`/api/v1/sandboxes/${id}/exec`, { method: 'POST' });
      expect(response.status).toBe(400);
    });

    it('answers 404 for an unknown sandbox and 409 for a stopped one', async () => {
      const missing = await exec('nope', { cmd: ['true'] });
      expect(missing.status).toBe(404);
      const id = await api.sandbox();
      await api.engine.stop(id);
      const stopped = await exec(id, { cmd: ['true'] });
      expect(stopped.status).toBe(409);
      expect(((await stopped.json()) as { code: string }).code).toBe('SANDBOX_NOT_RUNNING');
    });

    it('kills the process when the client disconnects', async () => {
      const id = await api.sandbox();
      const controller = new AbortController();
      const pending = exec(id, { cmd: ['sleep', '30'] }, { signal: controller.signal }).catch(
        (error: unknown) => error,
      );
      // Positive control: the process really ran before the client went away.
      await expect.poll(() => sleeping(id), { timeout: 10_000 }).toBe(1);
      controller.abort();
      await pending;
      await expect.poll(() => sleeping(id), { timeout: 10_000 }).toBe(0);
    });
  });
}
