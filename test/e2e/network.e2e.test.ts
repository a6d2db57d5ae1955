/**
 * Sandbox networking through a real `burrow serve` (the built CLI as a child process) on the real engine:
 * - previews: `python3 -m http.server` in a sandbox without any network, fetched through both URL forms with and
 *   without a token; a WebSocket echo server (Python's standard library) reached through the proxy;
 * - Den's POST /ports publishes on a host port and DELETE removes it; published ports come back after a crash;
 * - egress: a proxy-only sandbox reaches the Debian mirror (HTTP and HTTPS, the real certificate), is refused
 *   elsewhere at once; a secret bound to a host of the test's own HTTPS server arrives there and nowhere else, and
 *   cannot be read inside (env, /proc, the filesystem) nor in the server's logs or the container's labels.
 */
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { silentLogger } from '../../packages/server/src/logger.js';
import { CertificateFactory } from '../../packages/server/src/proxy/egress-ca.js';
import { BridgeFirewall } from '../../packages/server/src/runtime/docker/bridge-firewall.js';
import { removeInstance, spawnServer, type ChildServer } from '../support/child-server.js';
import { freePortIn, makeDataDir } from '../support/server.js';

const docker = new Dockerode();
const KEY = `e2e-key-${randomBytes(6).toString('hex')}`;
const SECRET_TAIL = randomBytes(8).toString('hex');
const SECRET = `Bearer e2e-secret-${SECRET_TAIL}`;
/** Matches the secret without containing it (so a grep's own command line is not a hit). */
const SECRET_PATTERN = `e2e-secret-${SECRET_TAIL.slice(0, -1)}[${SECRET_TAIL.slice(-1)}]`;
const NETWORK_ID = `burrow-e2e-net-${randomBytes(3).toString('hex')}`;

const seen: { server: string; headers: IncomingHttpHeaders }[] = [];
const closers: (() => void)[] = [];
let server: ChildServer;
let dataDir: string;
let caDir: string;
let secretPort: number;
let otherPort: number;
let plainPort: number;

/** Python's standard library as a WebSocket echo server on 8001 (enough of RFC 6455 for short text frames). */
const WS_SERVER = `
import base64, hashlib, socketserver
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        headers = {}
        self.rfile.readline()
        while True:
            line = self.rfile.readline().decode().strip()
            if not line: break
            name, value = line.split(':', 1)
            headers[name.strip().lower()] = value.strip()
        key = headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
        accept = base64.b64encode(hashlib.sha1(key.encode()).digest()).decode()
        self.wfile.write(('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n'
                          'Sec-WebSocket-Accept: %s\\r\\n\\r\\n' % accept).encode())
        while True:
            head = self.rfile.read(2)
            if len(head) < 2: return
            opcode, length = head[0] & 15, head[1] & 127
            if length == 126: length = int.from_bytes(self.rfile.read(2), 'big')
            mask = self.rfile.read(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
            if opcode == 8: return
            reply = b'echo:' + data
            self.wfile.write(bytes([0x81, len(reply)]) + reply)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(('0.0.0.0', 8001), Echo).serve_forever()
`;

/** Fetches a URL through the sandbox's HTTP(S)_PROXY; prints [status, body]. */
const FETCH = `
import json, ssl, sys, urllib.request, urllib.error
url, insecure = sys.argv[1], len(sys.argv) > 2
context = ssl._create_unverified_context() if insecure else None
try:
    with urllib.request.urlopen(urllib.request.Request(url, headers={'Authorization': 'from-inside'}), timeout=30, context=context) as r:
        print(json.dumps([r.status, r.read().decode(errors='replace')[:400]]))
except urllib.error.HTTPError as e:
    print(json.dumps([e.code, e.read().decode(errors='replace')[:400]]))
except Exception as e:
    print(json.dumps([0, repr(e)[:400]]))
`;

/** A CONNECT tunnel to the mirror by hand: the proxy's answer, the certificate the mirror presents, its HTTP status. */
const MIRROR_TLS = `
import base64, json, socket, ssl
s = socket.create_connection(('127.0.0.1', 3128), timeout=30)
s.sendall(b'CONNECT deb.debian.org:443 HTTP/1.1\\r\\nHost: deb.debian.org:443\\r\\n\\r\\n')
answer = s.recv(4096).split(b'\\r\\n')[0].decode()
t = ssl._create_unverified_context().wrap_socket(s, server_hostname='deb.debian.org')
der = t.getpeercert(True)
t.sendall(b'HEAD /debian/ HTTP/1.1\\r\\nHost: deb.debian.org\\r\\nConnection: close\\r\\n\\r\\n')
status = t.recv(4096).split(b'\\r\\n')[0].decode()
print(json.dumps([answer, base64.b64encode(der).decode(), status]))
`;

function api(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    ...init,
    headers: {
      'x-api-key': KEY,
      'content-type': 'application/json',
      ...(init.headers as Record<string, string>),
    },
  });
}

async function create(body: Record<string, unknown>): Promise<string> {
  const response = await api('/api/v1/sandboxes', { method: 'POST', body: JSON.stringify(body) });
  const text = await response.text();
  expect([response.status, text]).toEqual([201, expect.any(String)]);
  return (JSON.parse(text) as { id: string }).id;
}

async function exec(
  id: string,
  cmd: string[],
): Promise<{ exit_code: number; stdout: string; stderr: string }> {
  const response = await api(`/api/v1/sandboxes/${id}/exec`, {
    method: 'POST',
    body: JSON.stringify({ cmd }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { exit_code: number; stdout: string; stderr: string };
}

async function fetchInside(id: string, url: string, insecure = false): Promise<[number, string]> {
  const result = await exec(id, ['python3', '-c', FETCH, url, ...(insecure ? ['insecure'] : [])]);
  return JSON.parse(result.stdout) as [number, string];
}

/** A GET to the server with a preview Host header (Node's fetch cannot set Host). */
function get(path: string, host?: string, headers: Record<string, string> = {}) {
  const url = new URL(server.url);
  return new Promise<{ status: number; body: string; headers: IncomingHttpHeaders }>((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port: url.port,
        path,
        headers: { ...(host === undefined ? {} : { host }), ...headers },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body, headers: response.headers }),
        );
      },
    );
    request.on('error', reject);
    request.end();
  });
}

async function listen(made: Server): Promise<number> {
  await new Promise<void>((resolve) => made.listen(0, '127.0.0.1', resolve));
  closers.push(() => made.close());
  return (made.address() as AddressInfo).port;
}

async function start(): Promise<ChildServer> {
  return spawnServer({
    dataDir,
    env: {
      BURROW_AUTH__ENABLED: 'true',
      BURROW_AUTH__API_KEYS: KEY,
      BURROW_LOG__LEVEL: 'debug',
      BURROW_RUNTIME__DEFAULT_NETWORK_MODE: 'bridge',
      BURROW_RUNTIME__NETWORK_ID: NETWORK_ID,
      BURROW_NETWORK__EGRESS_HOSTS: 'secret.test=127.0.0.1,other.test=127.0.0.1',
      BURROW_NETWORK__ALLOW_PRIVATE: '127.0.0.1/32',
      BURROW_NETWORK__EGRESS_CA_FILE: join(caDir, 'ca.pem'),
    },
  });
}

beforeAll(async () => {
  const certificates = new CertificateFactory();
  const ca = await certificates.createCa('e2e-upstream');
  caDir = await mkdtemp(join(tmpdir(), 'burrow-e2e-ca-'));
  await writeFile(join(caDir, 'ca.pem'), ca.certPem);
  const record = (name: string) => (request: IncomingMessage, response: ServerResponse) => {
    seen.push({ server: name, headers: request.headers });
    response.end(`${name} says hi`);
  };
  const secretCert = await certificates.issue(ca, 'secret.test');
  secretPort = await listen(
    createHttpsServer({ key: secretCert.keyPem, cert: secretCert.certPem }, record('secret')),
  );
  const otherCert = await certificates.issue(ca, 'other.test');
  otherPort = await listen(
    createHttpsServer({ key: otherCert.keyPem, cert: otherCert.certPem }, record('other')),
  );
  plainPort = await listen(createHttpServer(record('plain')));
  dataDir = await makeDataDir();
  server = await start();
});

afterAll(async () => {
  if (server !== undefined) {
    server.process.kill('SIGTERM');
    await server.exited;
    await removeInstance(server.instance);
  }
  for (const close of closers) close();
  for (const name of [`${NETWORK_ID}-bridge`, `${NETWORK_ID}-internal`]) {
    await docker
      .getNetwork(name)
      .remove()
      .catch(() => undefined);
  }
  await new BridgeFirewall({ allowRanges: [], logger: silentLogger }).remove((name) =>
    name.startsWith(NETWORK_ID),
  );
  await rm(dataDir, { recursive: true, force: true });
  await rm(caDir, { recursive: true, force: true });
});

describe('preview URLs and published ports', () => {
  let id: string;
  let host: string;

  beforeAll(async () => {
    id = await create({
      network_mode: 'none',
      cmd: [
        'sh',
        '-c',
        'cd /tmp && echo "hello from the sandbox" > hello.txt && (python3 -m http.server 8000 &) && exec python3 -c "$0"',
        WS_SERVER,
      ],
    });
    host = `8000-${id}.localhost:${new URL(server.url).port}`;
    // The servers inside start with the sandbox; wait until the preview answers.
    for (let tries = 0; (await get('/hello.txt', host, { 'x-api-key': KEY })).status !== 200; tries += 1) {
      if (tries > 100) throw new Error('the sandbox web server did not come up');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });

  it('serves python3 -m http.server through both URL forms, with a token and not without', async () => {
    const preview = (await (await api(`/api/v1/sandboxes/${id}/preview/8000`)).json()) as {
      url: string;
      path_url: string;
      token: string;
    };
    expect(preview.url).toBe(`http://${host}/`);
    expect((await get('/hello.txt', host)).status).toBe(401);
    const byHost = await get(`/hello.txt?burrow_token=${preview.token}`, host);
    expect(byHost).toMatchObject({ status: 200, body: 'hello from the sandbox\n' });
    const cookie = (byHost.headers['set-cookie'] ?? [])[0]?.split(';')[0] ?? '';
    expect((await get('/hello.txt', host, { cookie })).status).toBe(200);
    const path = new URL(preview.path_url).pathname;
    expect((await get(`${path}hello.txt`)).status).toBe(401);
    const byPath = await get(`${path}hello.txt?burrow_token=${preview.token}`);
    expect(byPath).toMatchObject({ status: 200, body: 'hello from the sandbox\n' });
    expect(server.output()).not.toContain(preview.token);
  });

  it('reaches a WebSocket server inside through the proxy', async () => {
    const token = ((await (await api(`/api/v1/sandboxes/${id}/preview/8001`)).json()) as { token: string })
      .token;
    const socket = new WebSocket(
      `${server.url.replace('http', 'ws')}/api/v1/sandboxes/${id}/proxy/8001/?burrow_token=${token}`,
    );
    await once(socket, 'open');
    socket.send('over the tunnel');
    const [reply] = (await once(socket, 'message')) as [Buffer];
    expect(String(reply)).toBe('echo:over the tunnel');
    socket.close();
  });

  it('answers 502 with a clear message when nothing listens', async () => {
    const answer = await get('/', `9999-${id}.localhost`, { 'x-api-key': KEY });
    expect(answer.status).toBe(502);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'PORT_NOT_LISTENING' });
  });

  it("publishes with Den's POST /ports, keeps it across a crash, and removes it with DELETE", async () => {
    const hostPort = await freePortIn();
    const published = await api(`/api/v1/sandboxes/${id}/ports`, {
      method: 'POST',
      body: JSON.stringify({ sandbox_port: 8000, host_port: hostPort }),
    });
    expect(published.status).toBe(201);
    const direct = await fetch(`http://127.0.0.1:${hostPort}/hello.txt`);
    expect(await direct.text()).toBe('hello from the sandbox\n');

    server.process.kill('SIGKILL');
    await server.exited;
    server = await start();
    expect(await (await fetch(`http://127.0.0.1:${hostPort}/hello.txt`)).text()).toBe(
      'hello from the sandbox\n',
    );

    expect((await api(`/api/v1/sandboxes/${id}/ports/${hostPort}`, { method: 'DELETE' })).status).toBe(204);
    await expect(fetch(`http://127.0.0.1:${hostPort}/hello.txt`)).rejects.toThrow();
  });
});

describe('egress policies and secrets', () => {
  let id: string;

  beforeAll(async () => {
    id = await create({
      egress: { allow: ['deb.debian.org', 'secret.test', 'other.test'] },
      secrets: [{ host: 'secret.test', header: 'Authorization', value: SECRET }],
    });
  });

  it('reaches the Debian mirror over HTTP and HTTPS, with the real certificate', async () => {
    const [status] = await fetchInside(id, 'http://deb.debian.org/debian/');
    expect(status).toBe(200);
    const result = await exec(id, ['python3', '-c', MIRROR_TLS]);
    const [answer, der, httpStatus] = JSON.parse(result.stdout) as [string, string, string];
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(httpStatus).toMatch(/^HTTP\/1\.1 [23]\d\d/);
    expect(new X509Certificate(Buffer.from(der, 'base64')).issuer).not.toMatch(/Burrow/);
  });

  it('refuses other destinations at once with a 403 from the proxy, counted in stats', async () => {
    const started = Date.now();
    const [status, body] = await fetchInside(id, 'http://example.org/');
    expect(status).toBe(403);
    expect(body).toMatch(
      /Burrow's egress proxy refused example\.org: .*not in this sandbox's egress allow list/,
    );
    const direct = await exec(id, [
      'python3',
      '-c',
      'import socket\ntry:\n socket.create_connection(("192.0.2.1", 80), timeout=10)\nexcept OSError as e: print(e.errno)',
    ]);
    expect(direct.stdout.trim()).toBe('101');
    expect(Date.now() - started).toBeLessThan(10_000);
    const stats = (await (await api(`/api/v1/sandboxes/${id}/stats`)).json()) as { egress_refused: number };
    expect(stats.egress_refused).toBeGreaterThanOrEqual(1);
  });

  it('adds the secret to requests to its host only, over HTTPS, and the sandbox trusts only its own CA for that', async () => {
    const [status, body] = await fetchInside(id, `https://secret.test:${secretPort}/`);
    expect([status, body]).toEqual([200, 'secret says hi']);
    expect(seen.filter((entry) => entry.server === 'secret').at(-1)?.headers.authorization).toBe(SECRET);
    expect(await fetchInside(id, `https://other.test:${otherPort}/`, true)).toEqual([200, 'other says hi']);
    expect(seen.filter((entry) => entry.server === 'other').at(-1)?.headers.authorization).toBe(
      'from-inside',
    );
    expect(await fetchInside(id, `http://other.test:${plainPort}/`)).toEqual([200, 'plain says hi']);
    expect(seen.filter((entry) => entry.server === 'plain').at(-1)?.headers.authorization).toBe(
      'from-inside',
    );
  });

  it('keeps the secret out of the sandbox, the server log, the API and the container labels', async () => {
    const env = await exec(id, ['env']);
    expect(env.stdout).not.toContain(SECRET_TAIL);
    expect(env.stdout).toContain('SSL_CERT_FILE=/run/burrow/ca-certificates.crt');
    const proc = await exec(id, [
      'sh',
      '-c',
      `grep -a -l -e '${SECRET_PATTERN}' /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null; echo done`,
    ]);
    expect(proc.stdout.trim()).toBe('done');
    const files = await exec(id, [
      'sh',
      '-c',
      `grep -r -l -s --devices=skip -e '${SECRET_PATTERN}' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; echo done`,
    ]);
    expect(files.stdout.trim()).toBe('done');
    for (const path of [`/api/v1/sandboxes/${id}`, `/api/v1/sandboxes/${id}/egress`, '/api/v1/sandboxes']) {
      expect(await (await api(path)).text()).not.toContain(SECRET_TAIL);
    }
    const [container] = await docker.listContainers({ all: true, filters: { label: [`burrow.id=${id}`] } });
    expect(JSON.stringify(container?.Labels)).not.toContain(SECRET_TAIL);
    expect(server.output()).not.toContain(SECRET_TAIL);
    expect(server.output()).toMatch(/egress refused/);
  });

  it('takes a new policy on the running sandbox for its next connections', async () => {
    const changed = await api(`/api/v1/sandboxes/${id}/egress`, {
      method: 'PUT',
      body: JSON.stringify({ allow: ['secret.test'] }),
    });
    expect(changed.status).toBe(200);
    expect((await fetchInside(id, 'http://deb.debian.org/debian/'))[0]).toBe(403);
    expect((await fetchInside(id, `https://secret.test:${secretPort}/`))[0]).toBe(200);
  });
});
