/**
 * One maximum per timeout, checked where the request arrives (a 400 naming the limit), so that nothing below it can
 * wrap: the agent keeps an exec timeout as a u32 of milliseconds (4,294,968 s would become 704 ms) and Node's timers
 * fire at once above 2^31-1 ms.
 * On the fake (timeouts.test.ts) and on Docker (timeouts.docker.test.ts).
 */
import { MAX_EXEC_TIMEOUT_SECONDS } from '@burrow/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, transcript, type Harness, type RuntimeKind } from './test-support/harness.js';

export function timeoutsSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind, policy: { maxTimeoutMs: 7200_000 } });
  });
  afterAll(() => api.close());

  const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

  interface ErrorBody {
    error: string;
    code: string;
    limit?: number;
  }

  describe('exec timeouts', () => {
    // 4,294,968 s is 2^32 ms + 704 ms: the value that used to become a 704 ms timeout in the agent.
    it.each([MAX_EXEC_TIMEOUT_SECONDS + 1, 4_294_968, 100 * 365 * 24 * 3600])(
      'sync exec refuses timeout %d with a 400 naming the limit',
      async (timeout) => {
        const id = await api.sandbox();
        const response = await api.call(`/api/v1/sandboxes/${id}/exec`, json({ cmd: ['true'], timeout }));
        expect(response.status).toBe(400);
        const body = (await response.json()) as ErrorBody;
        expect(body.code).toBe('VALIDATION_FAILED');
        expect(body.error).toContain(`at most ${MAX_EXEC_TIMEOUT_SECONDS} seconds`);
        expect(body.limit).toBe(MAX_EXEC_TIMEOUT_SECONDS);
      },
    );

    it('sync exec accepts the maximum itself', async () => {
      const id = await api.sandbox();
      const response = await api.call(
        `/api/v1/sandboxes/${id}/exec`,
        json({ cmd: ['echo', 'ok'], timeout: MAX_EXEC_TIMEOUT_SECONDS }),
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ exit_code: 0, stdout: 'ok\n', timed_out: false });
    });

    it('WebSocket exec refuses a wrapping timeout with an error frame naming the limit', async () => {
      const id = await api.sandbox();
      const result = await transcript(api.ws(`/api/v1/sandboxes/${id}/exec/stream`), {
        cmd: ['true'],
        timeout: 4_294_968,
      });
      expect(result.messages).toHaveLength(1);
      expect(result.messages[0]).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' });
      expect(String(result.messages[0]?.data)).toContain(`at most ${MAX_EXEC_TIMEOUT_SECONDS} seconds`);
      expect(result.code).toBe(1008);
    });

    it('the runtime refuses a timeout that would wrap, whoever calls it', async () => {
      const id = await api.sandbox();
      await expect(api.runtime.exec(id, { cmd: ['true'], timeoutMs: 2 ** 32 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
      await expect(api.engine.exec(id, { cmd: ['true'], timeoutMs: 2 ** 31 })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    });
  });

  describe('sandbox lifetimes', () => {
    it('create refuses a timeout above sandbox.max_timeout with a 400 naming it', async () => {
      const sandboxes = api.engine.list().length;
      const response = await api.call('/api/v1/sandboxes', json({ timeout: 7201 }));
      expect(response.status).toBe(400);
      const body = (await response.json()) as ErrorBody;
      expect(body.error).toContain('at most 7200 seconds');
      expect(body.error).toContain('sandbox.max_timeout');
      expect(body.limit).toBe(7200);
      expect(api.engine.list()).toHaveLength(sandboxes);
    });

    it('create accepts the maximum', async () => {
      const response = await api.call('/api/v1/sandboxes', json({ timeout: 7200 }));
      expect(response.status).toBe(201);
      const body = (await response.json()) as { id: string };
      await api.engine.destroy(body.id);
    });

    it('a lifetime reset refuses a timeout above the maximum', async () => {
      const id = await api.sandbox();
      const before = api.engine.list().find((sandbox) => sandbox.id === id)?.expiresAt;
      const response = await api.call(`/api/v1/sandboxes/${id}/timeout`, json({ timeout: 2 ** 40 }));
      expect(response.status).toBe(400);
      expect(((await response.json()) as ErrorBody).error).toContain('at most 7200 seconds');
      expect(api.engine.list().find((sandbox) => sandbox.id === id)?.expiresAt).toEqual(before);
    });
  });
}
