/**
 * The egress proxy against real HTTP and HTTPS servers on loopback (names mapped in its resolver), driven the way the
 * agent drives it: one Duplex per connection a sandbox's program makes to its HTTP(S)_PROXY.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { duplexPair } from '../runtime/fake/fake-ports.js';
import type { EgressPolicy } from '../runtime/runtime.js';
import { AddressGuard } from './address-guard.js';
import { CertificateFactory, type CaMaterial } from './egress-ca.js';
import { EgressInterceptor } from './egress-intercept.js';
import { checkPolicy, parseCidr, type Cidr } from './egress-policy.js';
import { EgressProxy } from './egress-proxy.js';
import { createSecureContext } from 'node:tls';

const SECRET = 'Bearer s3cr3t-value-0123456789';
const certificates = new CertificateFactory();
const seen: { host: string | undefined; headers: IncomingHttpHeaders }[] = [];
let httpPort: number;
let httpsPort: number;
let secretPort: number;
let upstreamCa: CaMaterial;
let sandboxCa: CaMaterial;
let policy: EgressPolicy;
let proxy: EgressProxy;
const closers: (() => void)[] = [];

function record(request: IncomingMessage, response: ServerResponse): void {
  seen.push({ host: request.headers.host, headers: request.headers });
  response.end(`hello from ${request.headers.host ?? '?'} ${request.url ?? ''}`);
}

async function listen(server: NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

function connection(): Duplex {
  const [client, server] = duplexPair();
  proxy.handle('sbx', server);
  return client;
}

function proxied(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: IncomingHttpHeaders }>((resolve, reject) => {
    const request = httpRequest({ path: url, headers, createConnection: () => connection() as never });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body, headers: response.headers }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

function tunnel(target: string): Promise<{ status: number; socket: Duplex; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      method: 'CONNECT',
      path: target,
      createConnection: () => connection() as never,
    });
    request.on('connect', (response: IncomingMessage, socket: Duplex, head: Buffer) => {
      const status = response.statusCode ?? 0;
      if (status === 200) return resolve({ status, socket, body: '' });
      // Node hands over the socket whatever the status: the refusal's body follows on it.
      let body = head.toString();
      socket.on('data', (chunk: Buffer) => (body += chunk.toString()));
      socket.on('end', () => resolve({ status, socket, body }));
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, socket: response.socket, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** An HTTPS GET through a CONNECT tunnel, trusting `ca`, sending `servername`. */
async function overTunnel(
  target: string,
  servername: string,
  ca: string,
  headers: Record<string, string> = {},
) {
  const { status, socket } = await tunnel(target);
  expect(status).toBe(200);
  const tls: TLSSocket = tlsConnect({ socket: socket as never, servername, ca });
  return new Promise<string>((resolve, reject) => {
    const request = httpsRequest({
      path: '/secure',
      headers: { host: servername, ...headers },
      createConnection: () => tls as never,
    });
    request.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve(body));
    });
    request.on('error', reject);
    request.end();
  });
}

beforeAll(async () => {
  upstreamCa = await certificates.createCa('upstream-test');
  sandboxCa = await certificates.createCa('sbx');
  httpPort = await listen(createServer(record));
  const allowedCert = await certificates.issue(upstreamCa, 'allowed.test');
  httpsPort = await listen(createHttpsServer({ key: allowedCert.keyPem, cert: allowedCert.certPem }, record));
  const secretCert = await certificates.issue(upstreamCa, 'secret.test');
  secretPort = await listen(createHttpsServer({ key: secretCert.keyPem, cert: secretCert.certPem }, record));
  const hosts: Record<string, string> = {
    'allowed.test': '127.0.0.1',
    'secret.test': '127.0.0.1',
    'a.wild.test': '127.0.0.1',
    'rebind.test': '169.254.169.254',
    'private.test': '10.1.2.3',
  };
  policy = checkPolicy({
    allow: ['allowed.test', 'secret.test', '*.wild.test', 'rebind.test', 'private.test', 'evil.test'],
    deny: ['evil.test'],
  });
  const interceptor = new EgressInterceptor({
    context: async (_id, host) => {
      const leaf = await certificates.issue(sandboxCa, host);
      return createSecureContext({ key: leaf.keyPem, cert: leaf.certPem + sandboxCa.certPem });
    },
    upstreamCa: [upstreamCa.certPem],
    logger: silentLogger,
  });
  proxy = new EgressProxy({
    lookup: (id) =>
      id === 'sbx'
        ? { policy, secrets: [{ host: 'secret.test', header: 'Authorization', value: SECRET }] }
        : undefined,
    guard: new AddressGuard({ allowRanges: [parseCidr('127.0.0.1/32') as Cidr], localAddresses: () => [] }),
    resolver: (host) => {
      const address = hosts[host];
      return address === undefined
        ? Promise.reject(new Error(`no such host ${host}`))
        : Promise.resolve([address]);
    },
    interceptor,
    logger: silentLogger,
    helloTimeoutMs: 500,
  });
  closers.push(
    () => proxy.close(),
    () => interceptor.close(),
  );
});

afterAll(() => closers.forEach((close) => close()));

describe('plain HTTP through the egress proxy', () => {
  it('forwards an allowed host with its Host header and no secret', async () => {
    const answer = await proxied(`http://allowed.test:${httpPort}/path?q=1`, { authorization: 'mine' });
    expect(answer).toMatchObject({ status: 200, body: `hello from allowed.test:${httpPort} /path?q=1` });
    expect(seen.at(-1)?.headers.authorization).toBe('mine');
    const wild = await proxied(`http://a.wild.test:${httpPort}/`);
    expect(wild.status).toBe(200);
  });

  it('refuses what the list does not allow, what it denies, and names resolving into blocked ranges', async () => {
    const before = proxy.refused('sbx');
    const cases: [string, RegExp][] = [
      [`http://other.test:${httpPort}/`, /other\.test is not in this sandbox's egress allow list/],
      ['http://evil.test/', /evil\.test is denied by this sandbox's egress policy \(evil\.test\)/],
      ['http://rebind.test/', /169\.254\.169\.254 is in the metadata range .*no sandbox may reach/],
      ['http://private.test/', /10\.1\.2\.3 is in the private range 10\.0\.0\.0\/8; the operator allows/],
      [
        'http://169.254.169.254/latest/meta-data',
        /169\.254\.169\.254 is not in this sandbox's egress allow list/,
      ],
    ];
    for (const [url, reason] of cases) {
      const answer = await proxied(url);
      expect([url, answer.status]).toEqual([url, 403]);
      expect(answer.body).toMatch(reason);
      expect(answer.headers['x-burrow-egress']).toBe('denied');
    }
    expect(proxy.refused('sbx')).toBe(before + cases.length);
  });

  it('follows a policy change from the next connection on', async () => {
    const saved = policy;
    try {
      policy = checkPolicy({ allow: ['secret.test'] });
      expect((await proxied(`http://allowed.test:${httpPort}/`)).status).toBe(403);
    } finally {
      policy = saved;
    }
    expect((await proxied(`http://allowed.test:${httpPort}/`)).status).toBe(200);
  });

  it('adds a secret to plain HTTP requests to its host only', async () => {
    await proxied(`http://secret.test:${httpPort}/`, { authorization: 'from inside' });
    expect(seen.at(-1)?.headers.authorization).toBe(SECRET);
  });
});

describe('CONNECT through the egress proxy', () => {
  it('splices TLS to an allowed host without decrypting (the real certificate arrives)', async () => {
    const body = await overTunnel(`allowed.test:${httpsPort}`, 'allowed.test', upstreamCa.certPem, {
      authorization: 'mine',
    });
    expect(body).toBe('hello from allowed.test /secure');
    expect(seen.at(-1)?.headers.authorization).toBe('mine');
  });

  it('refuses a CONNECT to a host the list does not allow with a 403', async () => {
    const refused = await tunnel('other.test:443');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/not in this sandbox's egress allow list/);
  });

  it('cuts a tunnel whose TLS asks for a server name the policy refuses', async () => {
    const before = proxy.refused('sbx');
    const { socket } = await tunnel(`allowed.test:${httpsPort}`);
    const tls = tlsConnect({ socket: socket as never, servername: 'evil.test', ca: upstreamCa.certPem });
    const outcome = await new Promise<string>((resolve) => {
      tls.once('secureConnect', () => resolve('connected'));
      tls.once('error', () => resolve('cut'));
      tls.once('close', () => resolve('cut'));
    });
    expect(outcome).toBe('cut');
    expect(proxy.refused('sbx')).toBe(before + 1);
  });

  it('intercepts a host with a secret: the sandbox CA signs it, the header is added, the upstream is verified', async () => {
    const body = await overTunnel(`secret.test:${secretPort}`, 'secret.test', sandboxCa.certPem, {
      authorization: 'from inside',
    });
    expect(body).toBe('hello from secret.test:' + secretPort + ' /secure');
    expect(seen.at(-1)?.headers.authorization).toBe(SECRET);
    // The upstream's own certificate is not what the sandbox sees: only its CA's signature is trusted there.
    await expect(
      overTunnel(`secret.test:${secretPort}`, 'secret.test', upstreamCa.certPem),
    ).rejects.toThrow();
  });
});
