import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import { createGuardedAgents, createPinnedAgents } from './pinned-agent.js';
import { SsrfPolicy } from './ssrf.js';

function fakeDns(table: Record<string, string[]>) {
  return (host: string) => {
    const answers = table[host];
    return answers === undefined
      ? Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }))
      : Promise.resolve(answers);
  };
}

function get(
  url: string,
  agent: http.Agent,
  ca?: Buffer,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(url, { agent, ...(ca === undefined ? {} : { ca }) }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body, headers: response.headers }),
      );
    });
    request.on('error', reject);
  });
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isBurrowError(error)) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error('expected a refusal');
}

let server: http.Server;
let port = 0;

beforeAll(async () => {
  server = http.createServer((request, response) => {
    if (request.url === '/redirect') {
      response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      response.end();
      return;
    }
    response.end(`hello from ${request.headers.host}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('createPinnedAgents', () => {
  it('connects to the pinned address and never re-resolves (the name is NXDOMAIN to the real DNS)', async () => {
    const table: Record<string, string[]> = { 's3.test': ['127.0.0.1'] };
    const policy = new SsrfPolicy({
      allowInternalEndpoint: true,
      serverEndpoint: `http://s3.test:${port}`,
      resolver: fakeDns(table),
    });
    const agents = await createPinnedAgents(policy, `http://s3.test:${port}`);
    try {
      expect(agents.endpoint.pinned).toBe('127.0.0.1');
      expect((await get(`http://s3.test:${port}/`, agents.httpAgent)).body).toBe(
        `hello from s3.test:${port}`,
      );
      table['s3.test'] = ['169.254.169.254'];
      agents.httpAgent.destroy(); // force a new connection
      expect((await get(`http://s3.test:${port}/again`, agents.httpAgent)).status).toBe(200);
    } finally {
      agents.destroy();
    }
  });

  it('refuses connections to any other host, including a redirect target such as the metadata address', async () => {
    const policy = new SsrfPolicy({
      allowInternalEndpoint: true,
      serverEndpoint: `http://s3.test:${port}`,
      resolver: fakeDns({ 's3.test': ['127.0.0.1'] }),
    });
    const agents = await createPinnedAgents(policy, `http://s3.test:${port}`);
    try {
      const redirect = await get(`http://s3.test:${port}/redirect`, agents.httpAgent);
      expect(redirect.status).toBe(302);
      const location = redirect.headers.location ?? '';
      expect(await refusal(get(location, agents.httpAgent))).toMatch(
        /^SSRF_BLOCKED: connection to 169\.254\.169\.254 refused/,
      );
      expect(await refusal(get(`http://other.test:${port}/`, agents.httpAgent))).toMatch(/^SSRF_BLOCKED/);
      expect(await refusal(get(`http://127.0.0.1:${port}/`, agents.httpAgent))).toMatch(
        /only talks to s3\.test/,
      );
    } finally {
      agents.destroy();
    }
  });

  it('fails at construction when any answer is never-exemptable or nothing is permitted', async () => {
    const resolver = fakeDns({ 'mixed.test': ['127.0.0.1', '169.254.169.254'], 'loop.test': ['127.0.0.1'] });
    const exempt = new SsrfPolicy({
      allowInternalEndpoint: true,
      serverEndpoint: 'http://mixed.test',
      resolver,
    });
    expect(await refusal(createPinnedAgents(exempt, 'http://mixed.test'))).toMatch(
      /^SSRF_BLOCKED: .*never allowed/,
    );
    const closed = new SsrfPolicy({ allowInternalEndpoint: false, resolver });
    expect(await refusal(createPinnedAgents(closed, 'http://loop.test'))).toMatch(
      /^SSRF_BLOCKED: .*internal/,
    );
    expect(await refusal(createPinnedAgents(closed, `http://127.0.0.1:${port}`))).toMatch(/^SSRF_BLOCKED/);
  });
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasOpenssl)('createPinnedAgents over TLS', () => {
  it('keeps the host name for SNI and certificate verification while dialling the pinned address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'burrow-tls-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=s3.test',
          '-addext',
          'subjectAltName=DNS:s3.test',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const cert = readFileSync(join(dir, 'cert.pem'));
      const tlsServer = https.createServer(
        { key: readFileSync(join(dir, 'key.pem')), cert },
        (request, response) => {
          response.end(`sni=${(request.socket as TLSSocket).servername}`);
        },
      );
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      const tlsPort = (tlsServer.address() as AddressInfo).port;
      const policy = new SsrfPolicy({
        allowInternalEndpoint: true,
        serverEndpoint: `https://s3.test:${tlsPort}`,
        resolver: fakeDns({ 's3.test': ['127.0.0.1'] }),
      });
      const agents = await createPinnedAgents(policy, `https://s3.test:${tlsPort}`, { ca: cert });
      try {
        expect((await get(`https://s3.test:${tlsPort}/`, agents.httpsAgent)).body).toBe('sni=s3.test');
      } finally {
        agents.destroy();
        tlsServer.closeAllConnections();
        await new Promise((resolve) => tlsServer.close(resolve));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('createGuardedAgents', () => {
  it('refuses internal literals and names that resolve to internal addresses', async () => {
    const policy = new SsrfPolicy({
      allowInternalEndpoint: false,
      resolver: fakeDns({ 'sneaky.test': ['52.1.2.3', '127.0.0.1'] }),
    });
    const agents = createGuardedAgents(policy);
    try {
      expect(await refusal(get(`http://127.0.0.1:${port}/`, agents.httpAgent))).toMatch(
        /^SSRF_BLOCKED: connection to 127\.0\.0\.1 refused/,
      );
      expect(await refusal(get(`http://[::1]:${port}/`, agents.httpAgent))).toMatch(/^SSRF_BLOCKED/);
      expect(await refusal(get(`http://169.254.169.254/`, agents.httpAgent))).toMatch(/^SSRF_BLOCKED/);
      expect(await refusal(get(`http://sneaky.test:${port}/`, agents.httpAgent))).toMatch(/^SSRF_BLOCKED/);
    } finally {
      agents.destroy();
    }
  });
});
