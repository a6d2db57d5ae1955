/**
 * HTTPS interception, for hosts a secret is bound to and for nothing else: the proxy answers the sandbox's CONNECT
 * itself, presents a certificate for the host signed by the sandbox's own CA (which only that sandbox trusts), reads
 * the requests with Node's HTTP server, adds the secret's header and sends each on over a new TLS connection to the
 * checked address, verified against the real host's certificate. The secret never enters the sandbox.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { rootCertificates, TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../logger.js';
import { relay, sendText, type Destination, type Interceptor } from './egress-proxy.js';
import { forwardHeaders, withSecrets } from './headers.js';

export interface InterceptorOptions {
  /** The certificate the proxy presents for `host` to sandbox `sandboxId`. */
  context(sandboxId: string, host: string): Promise<SecureContext>;
  /** PEM certificates trusted for upstream servers besides the system's (an operator's internal CA). */
  upstreamCa?: string[];
  logger: Logger;
  connectTimeoutMs?: number;
}

export class EgressInterceptor implements Interceptor {
  private readonly server = createServer();
  private readonly targets = new WeakMap<object, Destination>();
  private readonly ca: string[] | undefined;

  constructor(private readonly options: InterceptorOptions) {
    this.ca =
      options.upstreamCa === undefined || options.upstreamCa.length === 0
        ? undefined
        : [...rootCertificates, ...options.upstreamCa];
    this.server.headersTimeout = 30_000;
    this.server.requestTimeout = 0;
    this.server.on('request', (request, response) => this.onRequest(request, response));
    this.server.on('clientError', (_error, socket) => socket.destroy());
  }

  intercept(target: Destination, socket: Duplex, head: Buffer): void {
    this.options.context(target.sandboxId, target.host).then(
      (secureContext) => {
        if (head.length > 0) socket.unshift(head);
        const tlsSocket = new TLSSocket(socket as never, {
          isServer: true,
          secureContext,
          ALPNProtocols: ['http/1.1'],
        });
        tlsSocket.on('error', () => tlsSocket.destroy());
        this.targets.set(tlsSocket, target);
        this.server.emit('connection', tlsSocket);
      },
      (error: unknown) => {
        this.options.logger.error(
          { err: error, sandbox: target.sandboxId, destination: target.host },
          'could not make a certificate for an intercepted host',
        );
        socket.destroy();
      },
    );
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const target = this.targets.get(request.socket);
    if (target === undefined)
      return sendText(response, 500, "Burrow's egress proxy lost this connection's target");
    const path = (request.url ?? '/').startsWith('/') ? (request.url ?? '/') : '/';
    const host = target.port === 443 ? target.host : `${target.host}:${target.port}`;
    const upstream = httpsRequest({
      host: target.address,
      port: target.port,
      ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
      method: request.method,
      path,
      headers: withSecrets(forwardHeaders(request.headers, host), target.secrets),
      agent: false,
      timeout: this.options.connectTimeoutMs ?? 10_000,
      // Verified against the host's name (servername), not the address connected to.
      ...(this.ca === undefined ? {} : { ca: this.ca }),
    });
    relay(request, response, upstream, target.host);
  }
}
