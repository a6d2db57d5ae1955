/**
 * The egress proxy: every connection a proxy-only sandbox's program makes to its HTTP(S)_PROXY arrives here (relayed
 * by the agent, with the sandbox's identity). Node's HTTP server parses the proxy protocol: absolute-form requests
 * (plain HTTP) are checked by their host and forwarded; CONNECT tunnels are checked by their target and by the TLS
 * server name the client then sends, and spliced byte for byte, unless a secret is bound to the host, when the
 * interceptor terminates TLS to add it. Names are resolved here, on the host, and every address is checked before a
 * connection is made to it (egress-policy.ts, address-guard.ts). A refusal answers at once: 403 with the reason.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import type { Logger } from '../logger.js';
import type { EgressPolicy, EgressSecret } from '../runtime/runtime.js';
import type { AddressGuard } from './address-guard.js';
import { checkDestination, checkResolvedAddress, compilePolicy, normaliseHost } from './egress-policy.js';
import { forwardHeaders, withSecrets } from './headers.js';
import { peekClientHello } from './sni.js';

/** What the proxy needs to know about a sandbox, read for each new connection (so policy changes apply at once). */
export interface SandboxEgress {
  policy: EgressPolicy;
  secrets: EgressSecret[];
}

export type Resolver = (host: string) => Promise<string[]>;

/** Terminates TLS on a CONNECT tunnel to a host with a secret (egress-intercept.ts). */
export interface Interceptor {
  intercept(target: Destination, socket: Duplex, head: Buffer): void;
}

export interface Destination {
  sandboxId: string;
  host: string;
  port: number;
  /** The checked address to connect to. */
  address: string;
  secrets: EgressSecret[];
}

export interface EgressProxyOptions {
  lookup(sandboxId: string): SandboxEgress | undefined;
  guard: AddressGuard;
  resolver: Resolver;
  interceptor?: Interceptor;
  logger: Logger;
  /** Deadline of a name lookup and of an outbound connect (default 10 s). */
  connectTimeoutMs?: number;
  /** How long a tunnel's client may take to send its first bytes (default 10 s). */
  helloTimeoutMs?: number;
}

type Decision = { ok: true; destination: Destination } | { ok: false; status: number; message: string };

const HEADERS_TIMEOUT_MS = 30_000;

export class EgressProxy {
  private readonly server = createServer();
  private readonly owners = new WeakMap<object, string>();
  private readonly refusals = new Map<string, number>();
  private readonly connectTimeoutMs: number;
  private readonly helloTimeoutMs: number;

  constructor(private readonly options: EgressProxyOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.server.headersTimeout = HEADERS_TIMEOUT_MS;
    this.server.requestTimeout = 0;
    this.server.keepAliveTimeout = 5000;
    this.server.on('request', (request, response) => void this.onRequest(request, response));
    this.server.on('connect', (request, socket, head) => void this.onConnect(request, socket, head));
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  /** Takes one connection of sandbox `sandboxId`'s programs (DockerRuntimeOptions.egress). */
  handle(sandboxId: string, connection: Duplex): void {
    this.owners.set(connection, sandboxId);
    connection.on('error', () => undefined);
    this.server.emit('connection', connection);
  }

  /** Connections refused for this sandbox since the server started. */
  refused(sandboxId: string): number {
    return this.refusals.get(sandboxId) ?? 0;
  }

  forget(sandboxId: string): void {
    this.refusals.delete(sandboxId);
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private refuse(sandboxId: string, host: string, reason: string): Decision {
    this.refusals.set(sandboxId, this.refused(sandboxId) + 1);
    this.options.logger.debug({ sandbox: sandboxId, destination: host, reason }, 'egress refused');
    return { ok: false, status: 403, message: `Burrow's egress proxy refused ${host}: ${reason}` };
  }

  private async resolve(host: string): Promise<string[]> {
    if (isIP(host) !== 0) return [host];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('the name lookup timed out')), this.connectTimeoutMs);
    });
    try {
      return await Promise.race([this.options.resolver(host), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Checks a destination by name, then each address it resolves to; the first permitted address is used. */
  async decide(sandboxId: string, rawHost: string, port: number): Promise<Decision> {
    const host = normaliseHost(rawHost);
    const egress = this.options.lookup(sandboxId);
    if (egress === undefined) return this.refuse(sandboxId, host, 'the sandbox has no egress policy');
    const policy = compilePolicy(egress.policy);
    const verdict = checkDestination(policy, host);
    if (!verdict.allowed) return this.refuse(sandboxId, host, verdict.reason);
    let addresses: string[];
    try {
      addresses = await this.resolve(host);
    } catch (error) {
      return {
        ok: false,
        status: 502,
        message: `${host} could not be resolved: ${(error as Error).message}`,
      };
    }
    let firstReason = `${host} resolved to no address`;
    for (const address of addresses) {
      const checked = checkResolvedAddress(policy, address);
      const guarded = checked.allowed ? this.options.guard.check(address) : checked;
      if (guarded.allowed) {
        const secrets = egress.secrets.filter((secret) => normaliseHost(secret.host) === host);
        return { ok: true, destination: { sandboxId, host, port, address, secrets } };
      }
      if (addresses.indexOf(address) === 0) firstReason = guarded.reason;
    }
    return this.refuse(sandboxId, host, firstReason);
  }

  private ownerOf(socket: object): string {
    return this.owners.get(socket) ?? '';
  }

  private async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const sandboxId = this.ownerOf(request.socket);
    let url: URL;
    try {
      url = new URL(request.url ?? '');
    } catch {
      return sendText(
        response,
        400,
        "Burrow's egress proxy takes proxy requests only (an absolute http:// URL)",
      );
    }
    if (url.protocol !== 'http:') {
      return sendText(
        response,
        400,
        `Burrow's egress proxy forwards http:// URLs; use CONNECT for ${url.protocol}`,
      );
    }
    const decision = await this.decide(sandboxId, url.hostname, Number(url.port || 80));
    if (!decision.ok) return sendText(response, decision.status, decision.message);
    const { destination } = decision;
    const upstream = httpRequest({
      host: destination.address,
      port: destination.port,
      method: request.method,
      path: `${url.pathname}${url.search}`,
      headers: withSecrets(forwardHeaders(request.headers, url.host), destination.secrets),
      agent: false,
      timeout: this.connectTimeoutMs,
    });
    relay(request, response, upstream, destination.host);
  }

  private async onConnect(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const sandboxId = this.ownerOf(socket);
    const target = parseAuthority(request.url ?? '');
    if (target === undefined) {
      return endRaw(socket, 400, 'CONNECT needs host:port (e.g. example.com:443)');
    }
    const decision = await this.decide(sandboxId, target.host, target.port);
    if (!decision.ok) return endRaw(socket, decision.status, decision.message);
    const { destination } = decision;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (destination.secrets.length > 0 && this.options.interceptor !== undefined) {
      this.options.interceptor.intercept(destination, socket, head);
      return;
    }
    if (head.length > 0) socket.unshift(head);
    const { result, head: hello } = await peekClientHello(socket, this.helloTimeoutMs);
    if (result.kind === 'malformed') {
      this.refuse(sandboxId, destination.host, 'the tunnel did not start with a well-formed TLS ClientHello');
      socket.destroy();
      return;
    }
    if (result.kind === 'tls' && result.serverName !== undefined) {
      const name = normaliseHost(result.serverName);
      const egress = this.options.lookup(sandboxId);
      const verdict =
        name === destination.host || egress === undefined
          ? { allowed: egress !== undefined, reason: 'the sandbox has no egress policy' }
          : checkDestination(compilePolicy(egress.policy), name);
      if (!verdict.allowed) {
        this.refuse(sandboxId, name, `TLS server name in a tunnel to ${destination.host}: ${verdict.reason}`);
        socket.destroy();
        return;
      }
    }
    this.splice(destination, socket, hello);
  }

  private splice(destination: Destination, socket: Duplex, hello: Buffer): void {
    const upstream: Socket = netConnect({ host: destination.address, port: destination.port });
    upstream.setTimeout(this.connectTimeoutMs, () => upstream.destroy(new Error('connect timed out')));
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      if (hello.length > 0) upstream.write(hello);
      pipeline(socket, upstream, socket, () => {
        socket.destroy();
        upstream.destroy();
      });
    });
    upstream.once('error', (error) => {
      this.options.logger.debug(
        { sandbox: destination.sandboxId, destination: destination.host, err: error },
        'egress connection failed',
      );
      socket.destroy();
    });
  }
}

/** `host:port` of a CONNECT request (IPv6 in brackets). */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/.exec(authority);
  if (match === null) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: match[1] ?? '', port };
}

/** Streams a request to `upstream` and its response back, both ways with backpressure; failures end both. */
export function relay(
  request: IncomingMessage,
  response: ServerResponse,
  upstream: ReturnType<typeof httpRequest>,
  host: string,
): void {
  upstream.on('timeout', () => upstream.destroy(new Error('connect timed out')));
  upstream.on('response', (answer) => {
    upstream.setTimeout(0);
    response.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
    pipeline(answer, response, () => undefined);
  });
  upstream.on('error', (error) => {
    if (!response.headersSent) {
      sendText(response, 502, `Burrow's egress proxy could not reach ${host}: ${error.message}`);
    } else response.destroy();
  });
  response.on('close', () => {
    if (!response.writableFinished) upstream.destroy();
  });
  pipeline(request, upstream, () => undefined);
}

export function sendText(response: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`;
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-burrow-egress': status === 403 ? 'denied' : 'error',
  });
  response.end(body);
}

/** A reply on a raw CONNECT socket (before any tunnel exists), then the end of it. */
function endRaw(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  const reason = status === 403 ? 'Forbidden' : status === 400 ? 'Bad Request' : 'Bad Gateway';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Burrow-Egress: ${status === 403 ? 'denied' : 'error'}\r\nConnection: close\r\n\r\n${body}`,
  );
}
