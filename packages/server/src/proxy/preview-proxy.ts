/**
 * The preview proxy: HTTP requests and upgrades (WebSocket and any other) for a sandbox port, forwarded by Node's
 * HTTP client over a connection the agent makes inside the sandbox (Runtime.connectPort), so it works in every
 * network mode and isolation runtime without publishing anything. Bodies stream both ways with backpressure (no
 * whole-body buffering); a client that goes away takes the sandbox-side request with it.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { BurrowError, ERROR_STATUS, isErrorCode } from '@burrow/protocol';
import type { Logger } from '../logger.js';
import { COOKIE_NAME, cookiesWithout, type PreviewAccess } from './preview-access.js';
import { forwardHeaders } from './headers.js';
import { redactedUrl, type PreviewRoutes, type PreviewTarget } from './preview-target.js';
import { asSocket } from './tunnel-socket.js';

export interface PreviewProxyOptions {
  routes: PreviewRoutes;
  access: PreviewAccess;
  /** A connection to a port inside a running sandbox (the engine's, which keeps the sandbox's status true). */
  connect(sandboxId: string, port: number): Promise<Duplex>;
  logger: Logger;
}

/**
 * Path-based previews are served from the API's own origin, so their pages get an opaque origin: scripts run, but
 * cannot read the server's cookies or storage, nor call its API as the page's visitor.
 */
const PATH_FORM_CSP = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';

/** Response headers that describe the sandbox-side connection, not the response. */
const RESPONSE_HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'proxy-connection',
  'upgrade',
]);

function errorBody(error: BurrowError): string {
  return JSON.stringify({ error: error.message, code: error.code });
}

function asBurrowError(error: unknown): BurrowError {
  if (error instanceof BurrowError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && isErrorCode(code)) return new BurrowError(code, (error as Error).message);
  return new BurrowError(
    'PORT_NOT_LISTENING',
    `the connection into the sandbox failed: ${(error as Error).message}`,
  );
}

function responseHeaders(raw: string[], extra: [string, string][]): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!RESPONSE_HOP_BY_HOP.has((raw[i] ?? '').toLowerCase())) out.push(raw[i] ?? '', raw[i + 1] ?? '');
  }
  for (const [name, value] of extra) out.push(name, value);
  return out;
}

/** A request ready to go into the sandbox: where, with which headers, and what to add to the answer. */
interface Prepared {
  target: PreviewTarget;
  headers: Record<string, unknown>;
  extra: [string, string][];
}

export class PreviewProxy {
  constructor(private readonly options: PreviewProxyOptions) {}

  /** Whether this request is a preview request (host-based or path-based); such requests bypass the API. */
  claims(request: IncomingMessage): boolean {
    return this.options.routes.match(request) !== undefined;
  }

  private prepare(request: IncomingMessage): Prepared | BurrowError {
    const target = this.options.routes.match(request);
    if (target === undefined) return new BurrowError('ROUTE_NOT_FOUND', 'not a preview URL');
    if (target.port < 1 || target.port > 65535) {
      return new BurrowError('VALIDATION_FAILED', `port ${target.port} is not a TCP port: use 1-65535`);
    }
    const decision = this.options.access.check(request, target.url, {
      sandboxId: target.sandboxId,
      port: target.port,
      cookiePath: target.cookiePath,
      secure: this.options.routes.secure,
    });
    if (!decision.allowed) {
      // Another tenant's sandbox: the same answer as connecting to one that does not exist.
      if (decision.notFound === true) return new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
      return new BurrowError('UNAUTHORIZED', decision.reason);
    }
    const upgrade = request.headers.upgrade !== undefined;
    const headers = forwardHeaders(request.headers, String(request.headers.host ?? ''), {
      upgrade,
      drop: decision.drop,
    }) as Record<string, unknown>;
    const cookie = cookiesWithout(request.headers.cookie, COOKIE_NAME);
    if (cookie === undefined) delete headers.cookie;
    else headers.cookie = cookie;
    const remote = request.socket.remoteAddress ?? '';
    const forwarded = request.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwarded === undefined ? remote : `${String(forwarded)}, ${remote}`;
    headers['x-forwarded-host'] = String(request.headers.host ?? '');
    headers['x-forwarded-proto'] = this.options.routes.secure ? 'https' : 'http';
    const extra: [string, string][] = [];
    if (decision.setCookie !== undefined) extra.push(['set-cookie', decision.setCookie]);
    if (target.form === 'path') extra.push(['content-security-policy', PATH_FORM_CSP]);
    return { target, headers, extra };
  }

  private upstream(target: PreviewTarget, request: IncomingMessage, headers: Record<string, unknown>) {
    return httpRequest({
      method: request.method,
      path: target.path,
      headers: headers as Record<string, string>,
      // No agent (not even `agent: false`, which makes a fresh one): only then does Node use createConnection.
      createConnection: (_options: unknown, done: (error: Error | null, socket?: Socket) => void) => {
        this.options.connect(target.sandboxId, target.port).then(
          (tunnel) => done(null, asSocket(tunnel)),
          (error: unknown) => done(asBurrowError(error)),
        );
        return undefined;
      },
    } as unknown as Parameters<typeof httpRequest>[0]);
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    const started = Date.now();
    response.on('finish', () =>
      this.options.logger.debug(
        {
          method: request.method,
          url: redactedUrl(request.url ?? ''),
          status: response.statusCode,
          ms: Date.now() - started,
        },
        'preview request',
      ),
    );
    const prepared = this.prepare(request);
    if (prepared instanceof BurrowError) {
      request.resume();
      return sendError(response, prepared);
    }
    this.send(prepared, request, response);
  }

  private send(prepared: Prepared, request: IncomingMessage, response: ServerResponse): void {
    const { target, headers, extra } = prepared;
    const upstream = this.upstream(target, request, headers);
    upstream.on('response', (answer) => {
      response.writeHead(answer.statusCode ?? 502, responseHeaders(answer.rawHeaders, extra));
      pipeline(answer, response, () => undefined);
    });
    upstream.on('error', (error) => {
      if (response.headersSent) response.destroy();
      else sendError(response, asBurrowError(error));
    });
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
    pipeline(request, upstream, () => undefined);
  }

  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    const prepared = this.prepare(request);
    if (prepared instanceof BurrowError) return endRaw(socket, prepared.status, errorBody(prepared), []);
    this.relayUpgrade(prepared, request, socket, head);
  }

  /**
   * Forwarding for a caller that decided access itself and routes by its own URL forms (the E2B endpoint's
   * `getHost(port)` traffic): the request goes to `port` inside the sandbox as it came, path and headers included.
   */
  forPorts(): {
    forward(
      sandboxId: string,
      port: number,
      request: IncomingMessage,
      response: ServerResponse,
    ): Promise<void>;
    upgrade(
      sandboxId: string,
      port: number,
      request: IncomingMessage,
      socket: Duplex,
      head: Buffer,
    ): Promise<void>;
  } {
    const prepared = (sandboxId: string, port: number, request: IncomingMessage): Prepared => {
      const path = request.url ?? '/';
      return {
        target: {
          sandboxId,
          port,
          form: 'host',
          path: path.startsWith('/') ? path : `/${path}`,
          url: new URL('http://preview/'),
          cookiePath: '/',
        },
        headers: forwardHeaders(request.headers, String(request.headers.host ?? ''), {
          upgrade: request.headers.upgrade !== undefined,
        }) as Record<string, unknown>,
        extra: [],
      };
    };
    return {
      forward: (sandboxId, port, request, response) =>
        new Promise<void>((resolve) => {
          response.once('close', () => resolve());
          this.send(prepared(sandboxId, port, request), request, response);
        }),
      upgrade: (sandboxId, port, request, socket, head) => {
        socket.on('error', () => undefined);
        this.relayUpgrade(prepared(sandboxId, port, request), request, socket, head);
        return Promise.resolve();
      },
    };
  }

  private relayUpgrade(prepared: Prepared, request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { target, headers, extra } = prepared;
    const upstream = this.upstream(target, request, headers);
    upstream.on('upgrade', (answer, tunnel, tunnelHead) => {
      socket.write(statusBlock(101, answer.statusMessage ?? 'Switching Protocols', answer.rawHeaders, extra));
      if (tunnelHead.length > 0) socket.write(tunnelHead);
      if (head.length > 0) tunnel.write(head);
      pipeline(socket, tunnel, socket, () => {
        socket.destroy();
        tunnel.destroy();
      });
    });
    upstream.on('response', (answer) => {
      // The server inside did not upgrade: pass its answer on and close.
      socket.write(
        statusBlock(
          answer.statusCode ?? 502,
          answer.statusMessage ?? '',
          responseHeaders(answer.rawHeaders, []),
          [...extra, ['connection', 'close']],
        ),
      );
      pipeline(answer, socket, () => socket.destroy());
    });
    upstream.on('error', (error) => {
      const failure = asBurrowError(error);
      endRaw(socket, failure.status, errorBody(failure), []);
    });
    socket.on('close', () => upstream.destroy());
    upstream.end();
  }
}

function sendError(response: ServerResponse, error: BurrowError): void {
  const body = errorBody(error);
  response.writeHead(ERROR_STATUS[error.code], {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** A status line and headers on a raw socket (upgrade answers are not written by Node's server). */
function statusBlock(status: number, message: string, raw: string[], extra: [string, string][]): string {
  const lines = [`HTTP/1.1 ${status} ${message.replace(/[\r\n]/g, '')}`];
  for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  for (const [name, value] of extra) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function endRaw(socket: Duplex, status: number, body: string, extra: [string, string][]): void {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    404: 'Not Found',
    409: 'Conflict',
    502: 'Bad Gateway',
  };
  socket.end(
    statusBlock(
      status,
      reasons[status] ?? 'Error',
      [],
      [
        ['content-type', 'application/json; charset=utf-8'],
        ['content-length', String(Buffer.byteLength(body))],
        ['connection', 'close'],
        ...extra,
      ],
    ) + body,
  );
}
