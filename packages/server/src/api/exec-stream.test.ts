import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { API_KEY, startApi, transcript, type Harness } from './test-support/harness.js';

let api: Harness;
beforeAll(async () => {
  api = await startApi({ allowedOrigins: ['http://good.example'] });
});
afterAll(() => api.close());

const stream = (id: string) => `/api/v1/sandboxes/${id}/exec/stream`;

async function processes(id: string): Promise<number> {
  return (await api.runtime.stats(id)).pidCount - 1;
}

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
    await expect.poll(() => processes(id)).toBe(1);
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
    await expect.poll(() => processes(id)).toBe(1);
    socket.terminate();
    await expect.poll(() => processes(id), { timeout: 3000 }).toBe(0);
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
