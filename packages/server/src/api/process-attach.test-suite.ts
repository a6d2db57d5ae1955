/** The attach WebSocket of background processes, and exec on a terminal, on the in-memory runtime.
 * On the fake (process-attach.test.ts) and on Docker (process-attach.docker.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeOnly } from './test-support/cases.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';
import { WsReader } from './test-support/ws-reader.js';

export function processAttachSuite(kind: RuntimeKind): void {
  const fakeTerminal = fakeOnly(
    kind,
    'a real terminal echoes input and turns \n into \r\n (its line discipline); the fake terminal does neither',
  );
  let api: Harness;
  let id: string;
  beforeAll(async () => {
    api = await startApi({ runtime: kind, allowedOrigins: ['http://good.example'] });
    id = await api.sandbox();
  });
  afterAll(() => api.close());

  const processes = () => `/api/v1/sandboxes/${id}/processes`;

  async function start(body: Record<string, unknown>): Promise<string> {
    const response = await api.call(processes(), { method: 'POST', body: JSON.stringify(body) });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  }

  function attach(processId: string, query = '', headers?: Record<string, string>): WsReader {
    return new WsReader(api.ws(`${processes()}/${processId}/attach${query}`, headers));
  }

  describe('attach', () => {
    it('replays what the process printed, then its exit, then close 1000', async () => {
      const processId = await start({ cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] });
      await api.engine.processes.wait(id, processId, 5000);
      const reader = attach(processId, '?replay=true');
      expect(await reader.closed).toEqual({ code: 1000, reason: 'exit' });
      expect(reader.json[0]).toMatchObject({ type: 'process', process: { id: processId, running: false } });
      expect(reader.json.slice(1)).toEqual([
        { type: 'stdout', data: 'out\n' },
        { type: 'stderr', data: 'err\n' },
        { type: 'exit', data: '3' },
      ]);
    });

    it('without replay, only what comes after; several readers at once; closing detaches', async () => {
      const processId = await start({ cmd: ['sh', '-c', 'echo early; sleep 30'] });
      const a = attach(processId);
      const b = attach(processId);
      await Promise.all([a.until((r) => r.json.length > 0), b.until((r) => r.json.length > 0)]);
      expect(a.text()).toBe('');
      // A reader that leaves does not take the process with it.
      a.socket.close();
      await a.closed;
      expect((await api.engine.processes.get(id, processId)).running).toBe(true);
      await api.engine.processes.kill(id, processId);
      expect(await b.closed).toEqual({ code: 1000, reason: 'exit' });
      expect(b.json.at(-1)).toEqual({ type: 'exit', data: '137' });
    });

    it('takes stdin as text, base64 and binary frames, in order, then stdin_close', async () => {
      const processId = await start({ cmd: ['cat'], stdin: true });
      const reader = attach(processId);
      await reader.opened;
      reader.sendJson({ type: 'stdin', data: 'one ' });
      reader.sendBinary('two ');
      reader.sendJson({ type: 'stdin', data_base64: Buffer.from('three').toString('base64') });
      reader.sendJson({ type: 'stdin_close' });
      await reader.closed;
      expect(reader.text()).toBe('one two three');
      expect(reader.json.at(-1)).toEqual({ type: 'exit', data: '0' });
    });

    fakeTerminal('sends terminal output as binary frames and takes resize and signal messages', async () => {
      const processId = await start({ cmd: ['cat'], stdin: true, pty: { cols: 80, rows: 24 } });
      const reader = attach(processId, '?replay=1');
      await reader.until((r) => r.json.length > 0);
      expect(reader.json[0]).toMatchObject({ type: 'process', process: { pty: true } });
      reader.sendJson({ type: 'resize', cols: 100, rows: 30 });
      reader.sendBinary('\x1b[Ahello\r');
      reader.sendJson({ type: 'stdin_close' });
      await reader.closed;
      expect(reader.binary).toBe('\x1b[Ahello\r');
      expect(reader.text()).toBe('');
      expect(reader.json.filter((message) => message.type === 'refused')).toEqual([]);

      const sleeper = await start({ cmd: ['sleep', '30'], pty: { cols: 80, rows: 24 } });
      const signalled = attach(sleeper);
      await signalled.until((r) => r.json.length > 0);
      signalled.sendJson({ type: 'signal', signal: 'SIGTERM' });
      await signalled.closed;
      expect(signalled.json.at(-1)).toEqual({ type: 'exit', data: '143' });
    });

    it('answers a message it cannot apply with "refused" and goes on', async () => {
      const processId = await start({ cmd: ['sleep', '30'] });
      const reader = attach(processId);
      await reader.until((r) => r.json.length > 0);
      reader.sendJson({ type: 'stdin', data: 'x' });
      reader.sendJson({ type: 'resize', cols: 80, rows: 24 });
      reader.sendJson({ type: 'resize', cols: 0, rows: 24 });
      reader.sendJson({ type: 'signal', signal: 'SIGNOPE' });
      reader.sendJson({ type: 'dance' });
      reader.socket.send('not json');
      await reader.until((r) => r.json.filter((message) => message.type === 'refused').length === 6);
      const refused = reader.json.filter((message) => message.type === 'refused');
      // Bad messages are refused at once, calls the runtime refuses when they ran: the order may interleave.
      expect(refused.map((message) => message.code).sort()).toEqual([
        'BAD_REQUEST',
        'BAD_REQUEST',
        'CONFLICT',
        'CONFLICT',
        'VALIDATION_FAILED',
        'VALIDATION_FAILED',
      ]);
      const texts = refused.map((message) => String(message.data));
      for (const pattern of [
        /does not take input/,
        /no terminal/,
        /^cols must be/,
        /unknown signal "SIGNOPE"/,
      ])
        expect(texts.some((text) => pattern.test(text))).toBe(true);
      expect((await api.engine.processes.get(id, processId)).running).toBe(true);
      await api.engine.processes.kill(id, processId);
      expect(await reader.closed).toMatchObject({ code: 1000 });
    });

    it('refuses before the upgrade: unknown process 404, bad replay 400, stopped sandbox 409, bad origin 403', async () => {
      expect(await attach('proc_00000000').refused).toMatchObject({
        status: 404,
        body: { code: 'PROCESS_NOT_FOUND' },
      });
      expect(await attach('garbage').refused).toMatchObject({
        status: 404,
        body: { code: 'PROCESS_NOT_FOUND' },
      });
      const processId = await start({ cmd: ['sleep', '30'] });
      expect(await attach(processId, '?replay=maybe').refused).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_FAILED', field: 'replay' },
      });
      expect(
        await attach(processId, '', { 'x-api-key': 'test-key-0123456789', origin: 'http://evil.example' })
          .refused,
      ).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
      const plain = await api.call(`${processes()}/${processId}/attach`);
      expect(plain.status).toBe(400);
      const stopped = await api.sandbox();
      await api.engine.stop(stopped);
      const reader = new WsReader(api.ws(`/api/v1/sandboxes/${stopped}/processes/${processId}/attach`));
      expect(await reader.refused).toMatchObject({ status: 409, body: { code: 'SANDBOX_NOT_RUNNING' } });
      await api.engine.processes.kill(id, processId);
    });
  });

  describe('exec stream on a terminal', () => {
    const stream = () => `/api/v1/sandboxes/${id}/exec/stream`;

    fakeTerminal(
      'sends output as binary frames, takes binary stdin and resize, and ends as exec does',
      async () => {
        const reader = new WsReader(api.ws(stream()));
        await reader.opened;
        reader.sendJson({ cmd: ['cat'], stdin: true, pty: { cols: 80, rows: 24 } });
        reader.sendJson({ type: 'resize', cols: 132, rows: 43 });
        reader.sendBinary('\x03\x04raw bytes');
        reader.sendJson({ type: 'stdin', data: ' and text' });
        reader.sendJson({ type: 'stdin_close' });
        expect(await reader.closed).toEqual({ code: 1000, reason: 'exit' });
        expect(reader.binary).toBe('\x03\x04raw bytes and text');
        expect(reader.json).toEqual([{ type: 'exit', data: '0' }]);
      },
    );

    fakeTerminal('merges stderr into the terminal, and refuses a bad size with an error frame', async () => {
      const merged = new WsReader(api.ws(stream()));
      await merged.opened;
      merged.sendJson({ cmd: ['sh', '-c', 'echo out; echo err >&2'], pty: { cols: 80, rows: 24 } });
      await merged.closed;
      expect(merged.binary).toBe('out\nerr\n');

      const bad = new WsReader(api.ws(stream()));
      await bad.opened;
      bad.sendJson({ cmd: ['true'], pty: { cols: 80, rows: 0 } });
      expect(await bad.closed).toEqual({ code: 1008, reason: 'VALIDATION_FAILED' });
      expect(bad.json).toEqual([
        {
          type: 'error',
          data: 'pty.rows must be a whole number from 1 to 1000, got 0',
          code: 'VALIDATION_FAILED',
        },
      ]);
    });

    it('without pty, binary frames are still JSON messages and output still text (as Den clients expect)', async () => {
      const reader = new WsReader(api.ws(stream()));
      await reader.opened;
      reader.sendJson({ cmd: ['cat'], stdin: true });
      reader.sendBinary(JSON.stringify({ type: 'stdin', data: 'via binary' }));
      reader.sendJson({ type: 'stdin_close' });
      await reader.closed;
      expect(reader.json).toEqual([
        { type: 'stdout', data: 'via binary' },
        { type: 'exit', data: '0' },
      ]);
    });
  });
}
