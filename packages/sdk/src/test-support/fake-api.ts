/**
 * A small in-memory stand-in for the Burrow API (HTTP + exec WebSocket) for the SDK's and MCP's unit tests. It
 * speaks the wire format of packages/protocol; commands are a handful of fakes (echo, cat, sleep, exit, pwd).
 * The real server is exercised by the e2e tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

interface FakeSandbox {
  id: string;
  image: string;
  status: 'running' | 'paused' | 'stopped';
  created_at: string;
  expires_at: string;
  labels?: Record<string, string>;
}

export interface FakeApiOptions {
  apiKey?: string;
  /** Answer every API call with 429 and this Retry-After. */
  rateLimitRetryAfter?: string;
}

export interface FakeApi {
  url: string;
  sandboxes: Map<string, FakeSandbox>;
  files: Map<string, Buffer>;
  /** Requests seen, as "METHOD /path". */
  requests: string[];
  /** JSON bodies of creates and execs (POST and stream), in arrival order. */
  bodies: { request: string; body: Record<string, unknown> }[];
  /** Most commands (POST /exec or WebSocket) that were running at the same time. */
  peakExecs(): number;
  close(): Promise<void>;
}

type Reply = (status: number, body?: unknown, headers?: Record<string, string>) => void;

function fail(reply: Reply, status: number, code: string, error: string): void {
  reply(status, { error, code });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Runs a fake command; `emit` gets output, the result is the exit code. */
async function runFake(
  cmd: string[],
  stdin: AsyncIterable<string> | string,
  emit: (type: 'stdout' | 'stderr', data: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const [name, ...args] = cmd[0] === 'sh' && cmd[1] === '-c' ? (cmd[2] ?? '').split(' ') : cmd;
  switch (name) {
    case 'echo':
      emit('stdout', `${args.join(' ')}\n`);
      return 0;
    case 'warn':
      emit('stderr', `${args.join(' ')}\n`);
      return 0;
    case 'cat':
      if (typeof stdin === 'string') emit('stdout', stdin);
      else for await (const chunk of stdin) emit('stdout', chunk);
      return 0;
    case 'exit':
      return Number(args[0] ?? 0);
    case 'sleep':
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(0), Number(args[0] ?? 1) * 1000);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve(128 + (signal.reason === 'SIGINT' ? 2 : 9));
        });
      });
    default:
      emit('stderr', `${name}: not found\n`);
      return 127;
  }
}

interface ExecCount {
  running: number;
  peak: number;
}

function counted<T>(execs: ExecCount, run: () => Promise<T>): Promise<T> {
  execs.running += 1;
  execs.peak = Math.max(execs.peak, execs.running);
  return run().finally(() => (execs.running -= 1));
}

function handleStream(
  socket: WebSocket,
  sandbox: FakeSandbox | undefined,
  bodies: FakeApi['bodies'],
  execs: ExecCount,
): void {
  const stdin: string[] = [];
  let stdinDone = false;
  let wake: (() => void) | undefined;
  const controller = new AbortController();
  async function* stdinChunks(): AsyncIterable<string> {
    while (true) {
      const chunk = stdin.shift();
      if (chunk !== undefined) yield chunk;
      else if (stdinDone) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  let started = false;
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as Record<string, unknown>;
    if (!started) {
      started = true;
      bodies.push({ request: 'WS exec', body: message });
      if (sandbox === undefined) {
        socket.send(JSON.stringify({ type: 'error', data: 'sandbox not found', code: 'SANDBOX_NOT_FOUND' }));
        socket.close(1000);
        return;
      }
      if (message.stdin !== true) stdinDone = true;
      const emit = (type: string, data: string) => socket.send(JSON.stringify({ type, data }));
      void counted(execs, () =>
        runFake(message.cmd as string[], stdinChunks(), emit, controller.signal),
      ).then((code) => {
        socket.send(JSON.stringify({ type: 'exit', data: String(code) }));
        socket.close(1000);
      });
      return;
    }
    if (message.type === 'stdin') stdin.push(String(message.data));
    if (message.type === 'stdin_close') stdinDone = true;
    if (message.type === 'signal') controller.abort(message.signal);
    wake?.();
  });
  socket.on('close', () => controller.abort('SIGKILL'));
}

export async function startFakeApi(options: FakeApiOptions = {}): Promise<FakeApi> {
  const sandboxes = new Map<string, FakeSandbox>();
  const files = new Map<string, Buffer>();
  const snapshots = new Map<string, { id: string; sandbox_id: string; name: string }>();
  const requests: string[] = [];
  const bodies: FakeApi['bodies'] = [];
  const execs: ExecCount = { running: 0, peak: 0 };
  let counter = 0;

  const authorized = (req: IncomingMessage) =>
    options.apiKey === undefined || req.headers['x-api-key'] === options.apiKey;

  async function route(req: IncomingMessage, reply: Reply, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    requests.push(`${method} ${path}`);
    if (path === '/api/v1/health') return reply(200, { status: 'ok', features: ['network_mode'] });
    if (path === '/api/v1/version') {
      return reply(200, {
        version: '9.9.9',
        commit: 'abc',
        build_date: 'today',
        features: ['network_mode'],
        api: 'v1',
      });
    }
    if (options.rateLimitRetryAfter !== undefined) {
      return reply(
        429,
        { error: 'rate limit exceeded', code: 'RATE_LIMITED' },
        { 'Retry-After': options.rateLimitRetryAfter },
      );
    }
    if (!authorized(req)) return fail(reply, 401, 'UNAUTHORIZED', 'invalid API key');
    if (path === '/api/v1/sandboxes' && method === 'POST') {
      const body = JSON.parse((await readBody(req)).toString() || '{}') as Record<string, unknown>;
      bodies.push({ request: `${method} ${path}`, body });
      const id = `sb${++counter}`;
      const sandbox: FakeSandbox = {
        id,
        image: typeof body.image === 'string' ? body.image : 'fake/default',
        status: 'running',
        created_at: new Date().toISOString(),
        expires_at: '0001-01-01T00:00:00Z',
      };
      if (body.labels !== undefined) sandbox.labels = body.labels as Record<string, string>;
      sandboxes.set(id, sandbox);
      return reply(201, sandbox);
    }
    if (path === '/api/v1/sandboxes' && method === 'GET') return reply(200, [...sandboxes.values()]);
    const snap = /^\/api\/v1\/snapshots\/([^/]+)(\/restore)?$/.exec(path);
    if (snap !== null) {
      const snapshot = snapshots.get(snap[1] ?? '');
      if (snapshot === undefined) return fail(reply, 404, 'SNAPSHOT_NOT_FOUND', 'snapshot not found');
      if (method === 'DELETE') {
        snapshots.delete(snapshot.id);
        return reply(204);
      }
      const id = `sb${++counter}`;
      sandboxes.set(id, { ...(sandboxes.get(snapshot.sandbox_id) as FakeSandbox), id, status: 'running' });
      return reply(201, { id, status: 'running' });
    }
    const match = /^\/api\/v1\/sandboxes\/([^/]+)(\/.*)?$/.exec(path);
    if (match === null) return fail(reply, 404, 'ROUTE_NOT_FOUND', 'no such route');
    const sandbox = sandboxes.get(match[1] ?? '');
    if (sandbox === undefined) return fail(reply, 404, 'SANDBOX_NOT_FOUND', 'sandbox not found');
    const sub = `${method} ${match[2] ?? ''}`;
    const filePath = url.searchParams.get('path') ?? '';
    const key = `${sandbox.id}:${filePath}`;
    switch (sub) {
      case 'GET ':
        return reply(200, { ...sandbox, ip: '10.0.0.2' });
      case 'DELETE ':
        sandboxes.delete(sandbox.id);
        return reply(204);
      case 'POST /stop':
        sandbox.status = 'stopped';
        return reply(200, { status: 'stopped' });
      case 'POST /start':
        sandbox.status = 'running';
        return reply(200, { status: 'running' });
      case 'POST /pause':
        if (sandbox.status === 'stopped')
          return fail(
            reply,
            409,
            'SANDBOX_NOT_RUNNING',
            'sandbox is stopped: only a running sandbox can be paused',
          );
        sandbox.status = 'paused';
        return reply(200, { ...sandbox, paused_at: new Date().toISOString() });
      case 'POST /resume':
        sandbox.status = 'running';
        return reply(200, sandbox);
      case 'POST /fork': {
        const body = JSON.parse((await readBody(req)).toString() || '{}') as { count?: number };
        const copies = Array.from({ length: body.count ?? 1 }, () => {
          const copy: FakeSandbox = { ...sandbox, id: `sb${++counter}`, status: 'running' };
          sandboxes.set(copy.id, copy);
          return copy;
        });
        return reply(201, { sandboxes: copies });
      }
      case 'POST /timeout': {
        const body = JSON.parse((await readBody(req)).toString()) as { timeout: number };
        sandbox.expires_at = new Date(Date.now() + body.timeout * 1000).toISOString();
        return reply(200, sandbox);
      }
      case 'POST /exec': {
        if (sandbox.status !== 'running')
          return fail(reply, 409, 'SANDBOX_NOT_RUNNING', 'sandbox is not running');
        const body = JSON.parse((await readBody(req)).toString()) as { cmd: string[]; stdin?: string };
        bodies.push({ request: `${method} ${path}`, body });
        const out = { stdout: '', stderr: '' };
        const code = await counted(execs, () =>
          runFake(
            body.cmd,
            body.stdin ?? '',
            (type, data) => (out[type] += data),
            new AbortController().signal,
          ),
        );
        return reply(200, { exit_code: code, ...out, timed_out: false });
      }
      case 'PUT /files': {
        const data = await readBody(req);
        files.set(key, data);
        return reply(200, { success: true, bytes: data.length });
      }
      case 'GET /files':
      case 'GET /files/download': {
        const data = files.get(key);
        if (data === undefined) return fail(reply, 404, 'FILE_NOT_FOUND', `${filePath}: no such file`);
        res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(data.length),
        });
        res.end(data);
        return;
      }
      case 'DELETE /files':
        files.delete(key);
        return reply(200, { success: true });
      case 'POST /files/mkdir':
        return reply(200, { success: true });
      case 'GET /files/stat': {
        const data = files.get(key);
        if (data === undefined) return fail(reply, 404, 'FILE_NOT_FOUND', `${filePath}: no such file`);
        const name = filePath.split('/').pop() ?? '';
        return reply(200, {
          name,
          path: filePath,
          size: data.length,
          mode: '-rw-r--r--',
          mod_time: new Date().toISOString(),
          is_dir: false,
        });
      }
      case 'GET /files/list': {
        const prefix = `${sandbox.id}:${filePath.replace(/\/$/, '')}/`;
        const entries = [...files.entries()]
          .filter(([name]) => name.startsWith(prefix))
          .map(([name, data]) => ({
            name: name.slice(prefix.length),
            path: name.slice(sandbox.id.length + 1),
            size: data.length,
            mode: '-rw-r--r--',
            mod_time: '2026-01-01T00:00:00Z',
            is_dir: false,
          }));
        return reply(200, entries);
      }
      case 'POST /snapshots': {
        const body = JSON.parse((await readBody(req)).toString()) as { name: string };
        const snapshot = { id: `snap-${++counter}`, sandbox_id: sandbox.id, name: body.name };
        snapshots.set(snapshot.id, snapshot);
        return reply(201, {
          ...snapshot,
          image_id: 'sha256:1',
          created_at: new Date().toISOString(),
          size: 0,
        });
      }
      case 'GET /snapshots':
        return reply(
          200,
          [...snapshots.values()]
            .filter((snapshot) => snapshot.sandbox_id === sandbox.id)
            .map((snapshot) => ({
              ...snapshot,
              image_id: 'sha256:1',
              created_at: new Date().toISOString(),
              size: 10,
            })),
        );
      case 'GET /stats':
        return reply(200, {
          cpu_percent: 1.5,
          memory_usage: 1024,
          memory_limit: 4096,
          memory_percent: 25,
          network_rx: 1,
          network_tx: 2,
          disk_read: 3,
          disk_write: 4,
          pid_count: 5,
          timestamp: new Date().toISOString(),
        });
      default:
        return fail(reply, 404, 'ROUTE_NOT_FOUND', `no route ${sub}`);
    }
  }

  const server: Server = createServer((req, res) => {
    const reply: Reply = (status, body, headers = {}) => {
      res.writeHead(
        status,
        body === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
      );
      res.end(body === undefined ? undefined : `${JSON.stringify(body)}\n`);
    };
    route(req, reply, res).catch((error: unknown) => fail(reply, 500, 'INTERNAL', String(error)));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const match = /^\/api\/v1\/sandboxes\/([^/]+)\/exec\/stream$/.exec(
      new URL(req.url ?? '/', 'http://x').pathname,
    );
    if (!authorized(req)) {
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n\r\n{"error":"missing API key","code":"UNAUTHORIZED"}',
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) =>
      handleStream(ws, match === null ? undefined : sandboxes.get(match[1] ?? ''), bodies, execs),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sandboxes,
    files,
    requests,
    bodies,
    peakExecs: () => execs.peak,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
