/** Background processes over HTTP, on the in-memory runtime: every route, and every malformed request a 4xx.
 * On the fake (processes.test.ts) and on Docker (processes.docker.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeOnly } from './test-support/cases.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function processRoutesSuite(kind: RuntimeKind): void {
  const fakeTerminal = fakeOnly(
    kind,
    'a real terminal echoes input and turns \n into \r\n (its line discipline); the fake terminal does neither',
  );
  let api: Harness;
  let id: string;
  beforeAll(async () => {
    api = await startApi({ runtime: kind });
    id = await api.sandbox();
  });
  afterAll(() => api.close());

  const base = (sandbox = id) => `/api/v1/sandboxes/${sandbox}/processes`;

  interface Wire {
    id: string;
    pid: number;
    tag?: string;
    cmd: string[];
    pty: boolean;
    stdin: boolean;
    started_at: string;
    running: boolean;
    exit_code?: number;
    ended_at?: string;
    timed_out: boolean;
    output_dropped: { stdout: number; stderr: number };
  }

  async function post(path: string, body?: unknown): Promise<Response> {
    return api.call(path, {
      method: 'POST',
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  }

  async function start(body: Record<string, unknown>, sandbox = id): Promise<Wire> {
    const response = await post(base(sandbox), body);
    expect(response.status).toBe(201);
    return (await response.json()) as Wire;
  }

  async function waitFor(processId: string, seconds = 10, sandbox = id): Promise<Wire> {
    const response = await post(`${base(sandbox)}/${processId}/wait?timeout=${seconds}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Wire;
  }

  async function expectError(response: Response, status: number, code: string, message?: RegExp) {
    const body = (await response.json()) as { error: string; code: string };
    expect([response.status, body.code]).toEqual([status, code]);
    if (message !== undefined) expect(body.error).toMatch(message);
    return body;
  }

  describe('processes over HTTP', () => {
    it('starts a process (201), lists it, gets it, and kills it', async () => {
      const started = await start({ cmd: ['sleep', '30'], tag: 'dev-server' });
      expect(started).toMatchObject({
        cmd: ['sleep', '30'],
        tag: 'dev-server',
        pty: false,
        stdin: false,
        running: true,
        timed_out: false,
        output_dropped: { stdout: 0, stderr: 0 },
      });
      expect(started.id).toMatch(/^proc_[0-9a-f]+$/);
      expect(started.pid).toBeGreaterThan(0);
      expect(started.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      expect(started).not.toHaveProperty('exit_code');

      const list = (await (await api.call(base())).json()) as Wire[];
      expect(list.map((item) => item.id)).toContain(started.id);
      expect((await (await api.call(`${base()}/${started.id}`)).json()) as Wire).toMatchObject({
        id: started.id,
        running: true,
      });

      const killed = await post(`${base()}/${started.id}/kill`);
      expect(killed.status).toBe(200);
      expect((await killed.json()) as Wire).toMatchObject({ running: false, exit_code: 137 });
    });

    it('keeps running after the request, and waits with a deadline (query or body)', async () => {
      const started = await start({ cmd: ['sleep', '1'] });
      const before = Date.now();
      const early = await post(`${base()}/${started.id}/wait?timeout=0.2`);
      expect(((await early.json()) as Wire).running).toBe(true);
      expect(Date.now() - before).toBeGreaterThanOrEqual(150);
      const body = await post(`${base()}/${started.id}/wait`, { timeout: 0.1 });
      expect(((await body.json()) as Wire).running).toBe(true);
      const done = await waitFor(started.id);
      expect(done).toMatchObject({ running: false, exit_code: 0, timed_out: false });
      expect(done.ended_at).toBeDefined();
    });

    it('runs with the sandbox env, its own env, workdir and a timeout', async () => {
      const sandbox = (await api.engine.create({ env: { FROM_SANDBOX: 'yes' } })).id;
      const env = await start(
        // `env` rather than printenv: the busybox test image has no printenv applet.
        { cmd: ['sh', '-c', 'env; pwd'], env: { OWN: 'x' }, workdir: '/tmp' },
        sandbox,
      );
      await waitFor(env.id, 10, sandbox);
      const output = (await (await api.call(`${base(sandbox)}/${env.id}/output`)).json()) as {
        stdout: string;
      };
      const lines = output.stdout.split('\n');
      expect(lines).toEqual(expect.arrayContaining(['FROM_SANDBOX=yes', 'OWN=x']));
      expect(lines.at(-2)).toBe('/tmp');
      const limited = await start({ cmd: ['sleep', '30'], timeout: 1 }, sandbox);
      expect(await waitFor(limited.id, 10, sandbox)).toMatchObject({ exit_code: 124, timed_out: true });
    });

    it('takes input as text or base64, then end of input', async () => {
      const cat = await start({ cmd: ['cat'], stdin: true });
      expect(cat.stdin).toBe(true);
      expect((await post(`${base()}/${cat.id}/input`, { data: 'hello ' })).status).toBe(200);
      const bytes = await post(`${base()}/${cat.id}/input`, {
        data_base64: Buffer.from('wörld').toString('base64'),
        eof: true,
      });
      expect(await bytes.json()).toEqual({ success: true });
      expect(await waitFor(cat.id)).toMatchObject({ exit_code: 0, stdin: false });
      const output = (await (await api.call(`${base()}/${cat.id}/output`)).json()) as { stdout: string };
      expect(output.stdout).toBe('hello wörld');
    });

    it('signals the process group; SIGTERM ends it with 143', async () => {
      const sleeper = await start({ cmd: ['sleep', '30'] });
      expect(await (await post(`${base()}/${sleeper.id}/signal`, { signal: 'term' })).json()).toEqual({
        success: true,
      });
      expect((await waitFor(sleeper.id)).exit_code).toBe(143);
    });

    it('resizes a process on a terminal', async () => {
      const shell = await start({ cmd: ['sleep', '30'], pty: { cols: 80, rows: 24 }, stdin: true });
      expect(shell.pty).toBe(true);
      expect(await (await post(`${base()}/${shell.id}/resize`, { cols: 120, rows: 40 })).json()).toEqual({
        success: true,
      });
      await post(`${base()}/${shell.id}/kill`);
    });

    it('reads the buffered output: stdout and stderr apart, cut to max_bytes, and says when cut', async () => {
      const chatty = await start({ cmd: ['sh', '-c', 'echo out; echo err >&2'] });
      await waitFor(chatty.id);
      const output = (await (await api.call(`${base()}/${chatty.id}/output`)).json()) as Record<
        string,
        unknown
      >;
      expect(output).toMatchObject({
        stdout: 'out\n',
        stderr: 'err\n',
        stdout_truncated: false,
        stderr_truncated: false,
        process: { id: chatty.id, running: false, exit_code: 0 },
      });
      const cut = (await (await api.call(`${base()}/${chatty.id}/output?max_bytes=2`)).json()) as Record<
        string,
        unknown
      >;
      expect(cut).toMatchObject({ stdout: 't\n', stdout_truncated: true });

      // 2 MB through a 1 MiB buffer: the start fell out, and both the count and the flag say so.
      const big = await start({ cmd: ['head', '-c', '2000000', '/dev/zero'] });
      const finished = await waitFor(big.id);
      expect(finished.output_dropped.stdout).toBe(2000000 - 1024 * 1024);
      const tail = (await (await api.call(`${base()}/${big.id}/output`)).json()) as {
        stdout: string;
        stdout_truncated: boolean;
      };
      expect(tail.stdout.length).toBe(1024 * 1024);
      expect(tail.stdout_truncated).toBe(true);
    });

    it('reads the output of a process that is still running', async () => {
      const server = await start({ cmd: ['sh', '-c', 'echo listening on 8000; sleep 30'] });
      const started = Date.now();
      const output = (await (await api.call(`${base()}/${server.id}/output`)).json()) as Record<
        string,
        unknown
      >;
      expect(output).toMatchObject({ stdout: 'listening on 8000\n', process: { running: true } });
      expect(Date.now() - started).toBeLessThan(2500);
      await post(`${base()}/${server.id}/kill`);
    });

    fakeTerminal('runs POST /exec on a terminal: stderr merged into stdout', async () => {
      const response = await post(`/api/v1/sandboxes/${id}/exec`, {
        cmd: ['sh', '-c', 'echo out; echo err >&2'],
        pty: { cols: 80, rows: 24 },
      });
      expect(await response.json()).toEqual({
        exit_code: 0,
        stdout: 'out\nerr\n',
        stderr: '',
        timed_out: false,
      });
    });
  });

  describe('malformed process requests', () => {
    it('unknown or malformed process ids: 404 PROCESS_NOT_FOUND on every route', async () => {
      for (const processId of ['proc_00000000', 'nonsense', 'proc_XYZ']) {
        await expectError(await api.call(`${base()}/${processId}`), 404, 'PROCESS_NOT_FOUND');
        await expectError(await post(`${base()}/${processId}/wait?timeout=0`), 404, 'PROCESS_NOT_FOUND');
        await expectError(await post(`${base()}/${processId}/kill`), 404, 'PROCESS_NOT_FOUND');
        await expectError(
          await post(`${base()}/${processId}/signal`, { signal: 'TERM' }),
          404,
          'PROCESS_NOT_FOUND',
        );
        await expectError(
          await post(`${base()}/${processId}/input`, { data: 'x' }),
          404,
          'PROCESS_NOT_FOUND',
        );
        await expectError(
          await post(`${base()}/${processId}/resize`, { cols: 80, rows: 24 }),
          404,
          'PROCESS_NOT_FOUND',
        );
        await expectError(await api.call(`${base()}/${processId}/output`), 404, 'PROCESS_NOT_FOUND');
      }
    });

    it('bad start bodies: 400 with the field and what to change', async () => {
      await expectError(await post(base()), 400, 'BAD_REQUEST', /body is empty/);
      await expectError(await post(base(), {}), 400, 'VALIDATION_FAILED', /cmd is required/);
      await expectError(
        await post(base(), { cmd: 'ls -la' }),
        400,
        'VALIDATION_FAILED',
        /not a shell string/,
      );
      await expectError(await post(base(), { cmd: [1, 2] }), 400, 'VALIDATION_FAILED', /array of strings/);
      const pty = await expectError(
        await post(base(), { cmd: ['sh'], pty: { cols: 0, rows: 24 } }),
        400,
        'VALIDATION_FAILED',
        /pty\.cols must be a whole number from 1 to 1000, got 0/,
      );
      expect(pty).toMatchObject({ field: 'pty.cols' });
      await expectError(
        await post(base(), { cmd: ['sh'], pty: { cols: 80, rows: 5000 } }),
        400,
        'VALIDATION_FAILED',
        /pty\.rows/,
      );
      await expectError(
        await post(base(), { cmd: ['sh'], pty: { cols: 80 } }),
        400,
        'BAD_REQUEST',
        /pty\.rows/,
      );
      await expectError(
        await post(base(), { cmd: ['sh'], tag: 'x'.repeat(300) }),
        400,
        'VALIDATION_FAILED',
        /tag/,
      );
      await expectError(await post(base(), { cmd: ['sh'], user: 'a b' }), 400, 'VALIDATION_FAILED', /user/);
      await expectError(await post(base(), { cmd: ['sh'], timeout: '5' }), 400, 'BAD_REQUEST', /timeout/);
      await expectError(await post(base(), { cmd: ['sh'], stdin: 'yes' }), 400, 'BAD_REQUEST', /stdin/);
      await expectError(await post(base(), { cmd: ['sh'], workdir: 'tmp' }), 400, 'INVALID_PATH', /workdir/);
      await expectError(await post(base(), { cmd: ['sh'], env: { 'A=B': 'x' } }), 400, 'VALIDATION_FAILED');
    });

    it('bad wait, input, signal, resize and output requests: 400', async () => {
      const cat = await start({ cmd: ['cat'], stdin: true });
      const url = `${base()}/${cat.id}`;
      await expectError(await post(`${url}/wait?timeout=-1`), 400, 'VALIDATION_FAILED', /timeout/);
      await expectError(await post(`${url}/wait?timeout=abc`), 400, 'VALIDATION_FAILED', /timeout/);
      await expectError(await post(`${url}/wait?timeout=99999`), 400, 'VALIDATION_FAILED', /3600/);
      await expectError(await post(`${url}/wait`, { timeout: 'x' }), 400, 'BAD_REQUEST', /timeout/);
      await expectError(await post(`${url}/input`, {}), 400, 'VALIDATION_FAILED', /nothing to send/);
      await expectError(
        await post(`${url}/input`, { data: 'a', data_base64: 'YQ==' }),
        400,
        'VALIDATION_FAILED',
        /not both/,
      );
      await expectError(
        await post(`${url}/input`, { data_base64: '%%%' }),
        400,
        'VALIDATION_FAILED',
        /base64/,
      );
      await expectError(
        await post(`${url}/signal`, { signal: 'SIGFOO' }),
        400,
        'VALIDATION_FAILED',
        /SIGINT/,
      );
      await expectError(await post(`${url}/signal`, {}), 400, 'BAD_REQUEST', /signal/);
      await expectError(
        await post(`${url}/resize`, { cols: 0, rows: 24 }),
        400,
        'VALIDATION_FAILED',
        /^cols must be a whole number from 1 to 1000, got 0$/,
      );
      await expectError(await post(`${url}/resize`, { cols: 80.5, rows: 24 }), 400, 'BAD_REQUEST', /cols/);
      await expectError(await api.call(`${url}/output?max_bytes=0`), 400, 'VALIDATION_FAILED', /max_bytes/);
      await expectError(
        await api.call(`${url}/output?max_bytes=lots`),
        400,
        'VALIDATION_FAILED',
        /max_bytes/,
      );
      await post(`${url}/kill`);
    });

    it('input to a process without stdin, resize without a terminal: 409 CONFLICT', async () => {
      const sleeper = await start({ cmd: ['sleep', '30'] });
      await expectError(
        await post(`${base()}/${sleeper.id}/input`, { data: 'x' }),
        409,
        'CONFLICT',
        /does not take input: start it with stdin/,
      );
      await expectError(
        await post(`${base()}/${sleeper.id}/resize`, { cols: 80, rows: 24 }),
        409,
        'CONFLICT',
        /no terminal/,
      );
      await post(`${base()}/${sleeper.id}/kill`);
    });

    it('unknown sandbox 404, stopped sandbox 409', async () => {
      await expectError(await api.call(base('nosuchsandbox')), 404, 'SANDBOX_NOT_FOUND');
      await expectError(await post(base('nosuchsandbox'), { cmd: ['true'] }), 404, 'SANDBOX_NOT_FOUND');
      const stopped = await api.sandbox();
      await api.engine.stop(stopped);
      await expectError(await api.call(base(stopped)), 409, 'SANDBOX_NOT_RUNNING', /start it first/);
      await expectError(await post(base(stopped), { cmd: ['true'] }), 409, 'SANDBOX_NOT_RUNNING');
    });
  });
}
