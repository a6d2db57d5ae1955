/**
 * The E2B-compatible endpoint: one listener (loopback by default) that E2B's SDKs reach with `E2B_API_URL` and
 * `E2B_SANDBOX_URL` both pointing at it. Each request is routed by the `<port>-<id>.<domain>` Host form, else by
 * the `E2b-Sandbox-Id` / `E2b-Sandbox-Port` headers, else by the access token it carries (`X-Access-Token`, or a
 * signed /files URL); a request naming no sandbox is for the control plane. Sandbox traffic goes to envd (49983)
 * or, for any other port, to a port proxy.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import type { Engine, SandboxView } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { AccessTokens, e2bFormOf, type FileOperation, type KeyCheck } from './access.js';
import { buildControlPlane } from './control/control-plane.js';
import { publicTraffic } from './control/wire.js';
import { createEnvd, type Envd } from './envd/envd-handler.js';
import { runtimePortProxy } from './ports/runtime-port.js';
import {
  answerError,
  portRouter,
  refuseUpgrade,
  unavailablePreviewProxy,
  type PortProxy,
} from './ports/port-proxy.js';
import type { TemplateImages } from './templates.js';

export const ENVD_PORT = 49983;
export const CODE_INTERPRETER_PORT = 49999;

export interface E2bEndpointOptions {
  engine: Engine;
  logger: Logger;
  keys: KeyCheck;
  /** At least 16 bytes; the same secret keeps access tokens valid across restarts. */
  secret: Buffer;
  templates: TemplateImages;
  host: string;
  port: number;
  /** The `<domain>` of `<port>-<id>.<domain>` hosts; default `localhost:<port>`. */
  domain?: string;
  writableRootfs: boolean;
  maxFileBytes: number;
  /** Every sandbox port but envd's and the code interpreter's (the preview proxy); default: answers 501. */
  previewProxy?: PortProxy;
  /** How long a request to the code interpreter's port waits for it to open (default 30 s). */
  portWaitMs?: number;
}

interface SandboxTarget {
  sandboxId: string;
  port: number;
}

const HOST_FORM = /^(\d{1,5})-([a-z0-9]{1,64})\./i;

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function portNumber(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BurrowError('VALIDATION_FAILED', `sandbox port "${text.slice(0, 16)}" is not a port (1-65535)`);
  }
  return port;
}

/** Where a request goes by its Host or its headers; undefined when it names no sandbox that way. */
export function explicitTarget(request: IncomingMessage): SandboxTarget | undefined {
  const host = HOST_FORM.exec(header(request, 'host') ?? '');
  if (host?.[1] !== undefined && host[2] !== undefined)
    return { sandboxId: host[2], port: portNumber(host[1]) };
  const id = header(request, 'e2b-sandbox-id');
  if (id === undefined || id === '') return undefined;
  const port = header(request, 'e2b-sandbox-port');
  return { sandboxId: id, port: port === undefined || port === '' ? ENVD_PORT : portNumber(port) };
}

/** The loopback form of a listen address, for URLs a client on this machine uses. */
function clientHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

export class E2bEndpoint {
  private constructor(
    private readonly server: Server,
    private readonly control: FastifyInstance,
    private readonly envd: Envd,
    private readonly shutdown: AbortController,
    readonly url: string,
    readonly domain: string,
  ) {}

  static async start(options: E2bEndpointOptions): Promise<E2bEndpoint> {
    const { engine, logger } = options;
    const tokens = new AccessTokens(options.secret);
    const shutdown = new AbortController();
    let domain = options.domain ?? '';
    const control = await buildControlPlane({
      engine,
      logger,
      keys: options.keys,
      tokens,
      templates: options.templates,
      domain: () => domain,
      writableRootfs: options.writableRootfs,
    });
    const envd = await createEnvd({
      engine,
      tokens,
      logger,
      maxFileBytes: options.maxFileBytes,
      shutdownSignal: shutdown.signal,
    });
    const ports = portRouter(
      runtimePortProxy({
        engine,
        logger,
        ...(options.portWaitMs === undefined ? {} : { waitMs: options.portWaitMs }),
      }),
      new Set([CODE_INTERPRETER_PORT]),
      options.previewProxy ?? unavailablePreviewProxy,
    );
    /**
     * The sandbox a request is for, running or paused (a call into a paused one resumes it when the server's
     * `auto_resume` is on, else the engine refuses it); E2B's proxy answers 502 otherwise, which its SDKs read as
     * "not running". envd's /health answers for a paused sandbox as E2B's does: not running.
     */
    const running = (id: string, request: IncomingMessage): SandboxView | string => {
      const view = engine.list().find((record) => record.id === id);
      if (view === undefined) return `sandbox ${id.slice(0, 64)} not found`;
      if (view.status === 'running') return view;
      if (view.status === 'paused' && !(request.url ?? '').startsWith('/health')) return view;
      return `sandbox ${id} is ${view.status}, not running`;
    };
    /** A request carrying a sandbox's token (or a /files signature made from it) but no id goes to that envd. */
    const byToken = (request: IncomingMessage): SandboxTarget | undefined => {
      const token = header(request, 'x-access-token');
      const url = new URL(request.url ?? '/', 'http://e2b');
      const signature = url.pathname === '/files' ? url.searchParams.get('signature') : null;
      if (token === undefined && signature === null) return undefined;
      const operation: FileOperation = request.method === 'POST' ? 'write' : 'read';
      const expiration = url.searchParams.get('signature_expiration');
      for (const view of engine.list()) {
        const matched =
          token !== undefined
            ? tokens.verify(view.id, token)
            : tokens.verifySignature(
                view.id,
                {
                  path: url.searchParams.get('path') ?? '',
                  operation,
                  user: url.searchParams.get('username') ?? '',
                  signature: signature ?? '',
                  ...(expiration === null ? {} : { expiration: Number(expiration) }),
                },
                Math.floor(Date.now() / 1000),
              );
        if (matched) return { sandboxId: view.id, port: ENVD_PORT };
      }
      return undefined;
    };
    /** A sandbox port other than envd's: open to all only without auth and unless the sandbox said otherwise. */
    const checkTraffic = (request: IncomingMessage, view: SandboxView) => {
      if (publicTraffic(view, options.keys.enabled)) return;
      const traffic = header(request, 'e2b-traffic-access-token');
      const access = header(request, 'x-access-token');
      if (traffic !== undefined && tokens.verifyTraffic(view.id, traffic)) return;
      if (access !== undefined && tokens.verify(view.id, access)) return;
      throw new BurrowError(
        'FORBIDDEN',
        "this sandbox's ports need a token: send E2B-Traffic-Access-Token (the sandbox's trafficAccessToken)",
      );
    };
    const server = createServer((request: IncomingMessage, response: ServerResponse) => {
      try {
        const target = explicitTarget(request) ?? byToken(request);
        if (target === undefined) {
          control.routing(request, response);
          return;
        }
        const view = running(target.sandboxId, request);
        if (typeof view === 'string') {
          answerError(response, 502, view);
          return;
        }
        if (target.port === ENVD_PORT) {
          envd.handle(view.id, request, response);
          return;
        }
        checkTraffic(request, view);
        ports.forward(view.id, target.port, request, response).catch((error: unknown) => {
          logger.warn({ err: error, sandbox: view.id, port: target.port }, 'sandbox port request failed');
          answerError(
            response,
            502,
            `port ${target.port} of sandbox ${view.id}: ${(error as Error).message}`,
          );
        });
      } catch (error) {
        if (!isBurrowError(error)) logger.error({ err: error }, 'E2B routing failed');
        const status = isBurrowError(error) ? error.status : 500;
        answerError(response, status, isBurrowError(error) ? error.message : 'internal error');
      }
    });
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      try {
        const target = explicitTarget(request);
        if (target === undefined || target.port === ENVD_PORT) {
          refuseUpgrade(
            socket,
            400,
            'Bad Request',
            'upgrades are served for sandbox ports only (not envd or the API)',
          );
          return;
        }
        const view = running(target.sandboxId, request);
        if (typeof view === 'string') {
          refuseUpgrade(socket, 502, 'Bad Gateway', view);
          return;
        }
        checkTraffic(request, view);
        ports.upgrade(view.id, target.port, request, socket, head).catch(() => socket.destroy());
      } catch (error) {
        const status = isBurrowError(error) ? error.status : 500;
        refuseUpgrade(socket, status, 'Error', isBurrowError(error) ? error.message : 'internal error');
      }
    });
    // Streams (process output, watches, big files) may run for hours: no whole-request deadline.
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    }).catch(async (error: unknown) => {
      await envd.close();
      await control.close();
      const code = (error as { code?: unknown }).code;
      throw new BurrowError(
        code === 'EADDRINUSE' ? 'CONFLICT' : 'RUNTIME_UNAVAILABLE',
        `the E2B endpoint cannot listen on ${options.host}:${options.port} (${String(code ?? error)}): ` +
          'set e2b.port (BURROW_E2B__PORT) to a free port, or e2b.host to an address of this machine',
      );
    });
    const bound = (server.address() as AddressInfo).port;
    if (domain === '') domain = `localhost:${bound}`;
    const url = `http://${clientHost(options.host)}:${bound}`;
    logger.info({ url, domain }, 'E2B-compatible endpoint listening');
    return new E2bEndpoint(server, control, envd, shutdown, url, domain);
  }

  /** The lines that point E2B's SDKs at this endpoint. */
  exports(authEnabled: boolean): string[] {
    return [
      `export E2B_API_URL=${this.url}`,
      `export E2B_SANDBOX_URL=${this.url}`,
      // With auth on, E2B's key is a Burrow key; with auth off any key works, but the SDKs insist on one.
      authEnabled ? 'export E2B_API_KEY=$BURROW_API_KEY' : `export E2B_API_KEY=${e2bFormOf('burrow')}`,
    ];
  }

  async close(): Promise<void> {
    this.shutdown.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Streams end on the shutdown signal; whatever is still open after a moment is cut.
    const cut = setTimeout(() => this.server.closeAllConnections(), 2000);
    await closed;
    clearTimeout(cut);
    await this.envd.close();
    await this.control.close();
  }
}
