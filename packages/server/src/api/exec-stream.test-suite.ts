/** The WebSocket exec, on the fake (exec-stream.test.ts) and on Docker (exec-stream.docker.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { API_KEY, startApi, transcript, type Harness, type RuntimeKind } from './test-support/harness.js';

export function execStreamSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind, allowedOrigins: ['http://good.example'] });
  });
  afterAll(() => api.close());

  const stream = (id: string) => `/api/v1/sandboxes/${id}/exec/stream`;

  const sleeping = (id: string) => api.processes(id, ['sleep', '30']);

  describe('WebSocket exec, as Den clients use it', () => {
    it('streams output, then exit as a decimal string, then close 1000', async () => {
      const id = await api.sandbox();
      const result = await transcript(api.ws(stream(id)), {
        cmd: ['sh', '-c', 'echo out; echo err >&2; exit 7'],
      });
      expect(result.messages).toContainEqual({ type: 'stdout', data: 'out\n' });
      expect(result.messages).toContainEqual({ type: 'stderr', data: 'err\n' });
      expect(result.messages.at(-1)).toEqual({ type: 'exit', data: '7' });
      expect(result.messages.filter((message) => message.type === 'exit')).toHaveLength(1);
      expect(result.code).toBe(1000);
    });

    it('sends big output in frames small enough for any client', async () => {
      const id = await api.sandbox();
      const result = await transcript(api.ws(stream(id)), { cmd: ['head', '-c', '200000', '/dev/zero'] });
      const frames = result.messages
        .filter((message) => message.type === 'stdout')
        .map((message) => String(message.data));
      expect(frames.length).toBeGreaterThan(1);
      expect(frames.every((data) => data.length <= 32 * 1024)).toBe(true);
      expect(frames.join('')).toBe('\0'.repeat(200000));
    });

    it('accepts the request in a binary frame', async () => {
      const id = await api.sandbox();
      const socket = api.ws(stream(id));
      const done = transcript(socket);
      socket.on('open', () =>
        socket.send(Buffer.from(JSON.stringify({ cmd: ['echo', 'bin'] })), { binary: true }),
      );
      const result = await done;
      expect(result.messages).toEqual([
        { type: 'stdout', data: 'bin\n' },
        { type: 'exit', data: '0' },
      ]);
    });

    it('gives a process without stdin: true an empty stdin', async () => {
      const id = await api.sandbox();
      const result = await transcript(api.ws(stream(id)), { cmd: ['cat'] });
      expect(result.messages).toEqual([{ type: 'exit', data: '0' }]);
    });

    it('kills the process at the timeout: exit 124 with timed_out', async () => {
      const id = await api.sandbox();
      const result = await transcript(api.ws(stream(id)), { cmd: ['sleep', '30'], timeout: 1 });
      expect(result.messages.at(-1)).toEqual({ type: 'exit', data: '124', timed_out: true });
      expect(result.code).toBe(1000);
    });
  });

  describe('WebSocket exec extensions', () => {
    it('round-trips stdin through cat, ended by stdin_close', async () => {
      const id = await api.sandbox();
      const result = await transcript(api.ws(stream(id)), { cmd: ['cat'], stdin: true }, [
        { type: 'stdin', data: 'hello ' },
        { type: 'stdin', data: 'world' },
        { type: 'stdin_close' },
      ]);
      const stdout = result.messages
        .filter((message) => message.type === 'stdout')
        .map((message) => message.data)
        .join('');
      expect(stdout).toBe('hello world');
      expect(result.messages.at(-1)).toEqual({ type: 'exit', data: '0' });
      expect(result.code).toBe(1000);
    });

    it('delivers signals', async () => {
      const id = await api.sandbox();
      const socket = api.ws(stream(id));
      const done = transcript(socket, { cmd: ['sleep', '30'] });
      await expect.poll(() => sleeping(id), { timeout: 10_000 }).toBe(1);
      socket.send(JSON.stringify({ type: 'signal', signal: 'SIGINT' }));
      const result = await done;
      expect(result.messages.at(-1)).toEqual({ type: 'exit', data: '130' });
    });

    it('ignores messages it does not understand (Den clients never send any)', async () => {
      const id = await api.sandbox();
      const result = await transcript(api.ws(stream(id)), { cmd: ['sh', '-c', 'sleep 0.2; echo ok'] }, [
        { type: 'resize', cols: 80 },
        'not json',
        { type: 'signal', signal: 'SIGBOGUS' },
      ]);
      expect(result.messages).toEqual([
        { type: 'stdout', data: 'ok\n' },
        { type: 'exit', data: '0' },
      ]);
    });

    it('kills the process when the client goes away', async () => {
      const id = await api.sandbox();
      const socket = api.ws(stream(id));
      socket.on('open', () => socket.send(JSON.stringify({ cmd: ['sleep', '30'] })));
      // Positive control: the process really ran before the client went away.
      await expect.poll(() => sleeping(id), { timeout: 10_000 }).toBe(1);
      socket.terminate();
      await expect.poll(() => sleeping(id), { timeout: 10_000 }).toBe(0);
    });

    it('cuts off a client that stops answering pings, and kills its process', async () => {
      const pinged = await startApi({ runtime: kind, webSocketHeartbeatMs: 200 });
      try {
        const id = await pinged.sandbox();
        // A client that vanished without closing: its socket is open, but nothing answers the server's pings.
        const socket = new WebSocket(`${pinged.url.replace('http', 'ws')}${stream(id)}`, {
          headers: { 'x-api-key': API_KEY },
          autoPong: false,
        });
        const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
        socket.on('open', () => socket.send(JSON.stringify({ cmd: ['sleep', '30'] })));
        socket.on('error', () => undefined);
        await expect.poll(() => pinged.processes(id, ['sleep', '30']), { timeout: 10_000 }).toBe(1);
        expect(await closed).toBe(1006);
        await expect.poll(() => pinged.processes(id, ['sleep', '30']), { timeout: 10_000 }).toBe(0);
      } finally {
        await pinged.close();
      }
    });

    it('keeps a client that answers pings connected past several heartbeats', async () => {
      const pinged = await startApi({ runtime: kind, webSocketHeartbeatMs: 100 });
      try {
        const id = await pinged.sandbox();
        const result = await transcript(pinged.ws(stream(id)), { cmd: ['sh', '-c', 'sleep 1; echo done'] });
        expect(result.messages).toEqual([
          { type: 'stdout', data: 'done\n' },
          { type: 'exit', data: '0' },
        ]);
        expect(result.code).toBe(1000);
      } finally {
        await pinged.close();
      }
    });

    it('closes the connection (1009) on a message over 16 MiB, and kills the process it started', async () => {
      const id = await api.sandbox();
      const socket = api.ws(stream(id));
      const done = transcript(socket, { cmd: ['cat'], stdin: true });
      await expect.poll(() => api.processes(id, ['cat']), { timeout: 10_000 }).toBe(1);
      socket.send(JSON.stringify({ type: 'stdin', data: 'x'.repeat(16 * 1024 * 1024 + 1) }));
      const result = await done;
      expect(result.code).toBe(1009);
      await expect.poll(() => api.processes(id, ['cat']), { timeout: 10_000 }).toBe(0);
    });
  });

  describe('WebSocket exec errors: an error frame, then a close frame', () => {
    it.each([
      ['invalid JSON', 'not json', 'BAD_REQUEST', /^invalid request/],
      ['a missing cmd', { env: {} }, 'VALIDATION_FAILED', /^cmd is required/],
      ['a bad field', { cmd: ['true'], timeout: 'x' }, 'BAD_REQUEST', /timeout/],
    ])('%s', async (_name, request, code, message) => {
      const id = await api.sandbox();
      const result = await transcript(api.ws(stream(id)), request);
      expect(result.messages).toHaveLength(1);
      expect(result.messages[0]).toMatchObject({ type: 'error', code });
      expect(String(result.messages[0]?.data)).toMatch(message);
      expect(result.code).toBe(1008);
    });

    it('an unknown sandbox', async () => {
      const result = await transcript(api.ws(stream('nope')), { cmd: ['true'] });
      expect(result.messages).toEqual([
        { type: 'error', data: 'failed to start command: sandbox not found', code: 'SANDBOX_NOT_FOUND' },
      ]);
      expect(result.code).toBe(1008);
    });

    it('a stopped sandbox', async () => {
      const id = await api.sandbox();
      await api.engine.stop(id);
      const result = await transcript(api.ws(stream(id)), { cmd: ['true'] });
      expect(result.messages[0]).toMatchObject({ type: 'error', code: 'SANDBOX_NOT_RUNNING' });
      expect(String(result.messages[0]?.data)).toMatch(/^failed to start command: /);
      expect(result.code).toBe(1008);
    });
  });

  describe('WebSocket handshake', () => {
    function refusal(socket: WebSocket): Promise<{ status: number; body: string }> {
      return new Promise((resolve, reject) => {
        socket.on('unexpected-response', (_request, response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        socket.on('open', () => reject(new Error('the upgrade was accepted')));
        socket.on('error', () => undefined);
      });
    }

    it('needs the API key (401 before upgrading)', async () => {
      const id = await api.sandbox();
      const refused = await refusal(api.ws(stream(id), {}));
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toEqual({ error: 'missing API key', code: 'UNAUTHORIZED' });
      const bearer = await transcript(api.ws(stream(id), { authorization: `Bearer ${API_KEY}` }), {
        cmd: ['true'],
      });
      expect(bearer.code).toBe(1000);
    });

    it('checks Origin exactly: none or an allowed one passes, others get 403', async () => {
      const id = await api.sandbox();
      const refused = await refusal(
        api.ws(stream(id), { 'x-api-key': API_KEY, origin: 'http://evil.example' }),
      );
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'FORBIDDEN' });
      const caseDiffers = await refusal(
        api.ws(stream(id), { 'x-api-key': API_KEY, origin: 'http://GOOD.example' }),
      );
      expect(caseDiffers.status).toBe(403);
      const allowed = await transcript(
        api.ws(stream(id), { 'x-api-key': API_KEY, origin: 'http://good.example' }),
        { cmd: ['true'] },
      );
      expect(allowed.code).toBe(1000);
    });

    it('answers a plain GET with 400', async () => {
      const id = await api.sandbox();
      const response = await api.call(stream(id));
      expect(response.status).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe('BAD_REQUEST');
    });
  });
}
