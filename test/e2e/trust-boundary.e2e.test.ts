/**
 * The trust boundary on a real server over the real Docker engine, with authentication off (the default): web pages
 * cannot reach it (foreign Host, cross-site writes), timeouts cannot wrap, and the operator's ceilings hold inside
 * the sandbox (process and memory limits as the kernel enforces them, the host port range).
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burrow, type Sandbox } from '@burrow/sdk';
import { startTestServer, type TestServer } from '../support/server.js';

let server: TestServer;
let sandbox: Sandbox;

beforeAll(async () => {
  server = await startTestServer({ config: { sandbox: { max_pid_limit: 512 } } });
  sandbox = await new Burrow({ url: server.url }).create({ pidLimit: 40 });
});
afterAll(async () => {
  await server?.close();
});

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path, headers, setHost: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
          }),
        );
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

const local = () => ({ host: new URL(server.url).host, 'content-type': 'application/json' });

describe('web pages against an open loopback server', () => {
  it('a rebound name (foreign Host) is refused', async () => {
    const answer = await send(
      'POST',
      '/api/v1/sandboxes',
      { ...local(), host: 'rebind.attacker.example:8080' },
      '{}',
    );
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatch(/DNS rebinding/);
  });

  it('a cross-site create is refused; curl-like clients are served', async () => {
    const before = (await new Burrow({ url: server.url }).list()).length;
    const evil = await send(
      'POST',
      '/api/v1/sandboxes',
      {
        ...local(),
        'content-type': 'text/plain',
        origin: 'https://attacker.example',
        'sec-fetch-site': 'cross-site',
      },
      '{"image":"burrow-test/busybox:latest","cmd":["sh","-c","echo pwned"]}',
    );
    expect(evil.status).toBe(403);
    expect((await new Burrow({ url: server.url }).list()).length).toBe(before);
    const fine = await send('GET', '/api/v1/health', local());
    expect(fine.status).toBe(200);
  });
});

describe('timeouts that used to wrap', () => {
  it('an exec timeout of 4,294,968 s is refused, not turned into 704 ms', async () => {
    const answer = await send(
      'POST',
      `/api/v1/sandboxes/${sandbox.id}/exec`,
      local(),
      JSON.stringify({ cmd: ['sleep', '2'], timeout: 4_294_968 }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(/at most 86400 seconds/);
  });

  it('a create timeout above sandbox.max_timeout is refused', async () => {
    const answer = await send(
      'POST',
      '/api/v1/sandboxes',
      local(),
      JSON.stringify({ timeout: 100 * 365 * 86400 }),
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatch(/sandbox\.max_timeout/);
  });

  it('a short timeout still kills the process on time', async () => {
    const started = performance.now();
    const result = await sandbox.commands.run(['sleep', '30'], { timeoutMs: 1000 });
    expect(result).toMatchObject({ exitCode: 124, timedOut: true });
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('operator ceilings, as the kernel enforces them', () => {
  /** A cgroup limit from inside the sandbox (v2 file, else v1). */
  async function cgroup(v2: string, v1: string): Promise<string> {
    const result = await sandbox.commands.run([
      'sh',
      '-c',
      `cat /sys/fs/cgroup/${v2} 2>/dev/null || cat /sys/fs/cgroup/${v1}`,
    ]);
    return result.stdout.trim();
  }

  it('the default memory limit is 1 GiB, not unlimited', async () => {
    expect(await cgroup('memory.max', 'memory/memory.limit_in_bytes')).toBe(String(1024 ** 3));
  });

  it('the process limit asked for holds, and one above sandbox.max_pid_limit is refused', async () => {
    expect(await cgroup('pids.max', 'pids/pids.max')).toBe('40');
    const forks = await sandbox.commands.run([
      'sh',
      '-c',
      'n=0; for i in $(seq 80); do sleep 10 & n=$((n+1)); done 2>/dev/null; ls /proc | grep -c "^[0-9]"',
    ]);
    expect(Number(forks.stdout.trim())).toBeLessThanOrEqual(40);
    const refused = await send('POST', '/api/v1/sandboxes', local(), JSON.stringify({ pid_limit: 513 }));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ field: 'pid_limit', limit: 512 });
  });

  it('a host port outside sandbox.host_port_range is refused', async () => {
    const refused = await send(
      'POST',
      '/api/v1/sandboxes',
      local(),
      JSON.stringify({ ports: [{ sandbox_port: 80, host_port: 8080 }] }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/outside this server's host port range 20000-29999/);
  });
});
