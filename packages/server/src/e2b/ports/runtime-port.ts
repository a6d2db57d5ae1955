/**
 * A sandbox port reached through the runtime: `engine.connectPort` opens a TCP connection from inside the sandbox's
 * own network namespace, and Node's HTTP client speaks over that connection, so the response is parsed by Node,
 * never by hand. One connection per request (`Connection: close`). A port that does not listen yet is tried again
 * for a while: the code interpreter's server starts with its sandbox.
 */
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isBurrowError } from '@burrow/protocol';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../logger.js';
import { answerError, refuseUpgrade, type PortProxy } from './port-proxy.js';

/** How long a request waits for its port to open, and how often it looks. */
const CONNECT_WAIT_MS = 30_000;
const CONNECT_RETRY_MS = 100;
/** Headers that belong to the hop between the client and Burrow, or to Burrow's routing. */
const DROPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'e2b-sandbox-id',
  'e2b-sandbox-port',
  'e2b-traffic-access-token',
  'x-access-token',
]);

/** What Node's HTTP client may call on a socket that a plain Duplex lacks. */
function asSocket(connection: Duplex): Socket {
  const socket = connection as Duplex & Partial<Socket>;
  for (const name of ['setNoDelay', 'setKeepAlive', 'setTimeout', 'ref', 'unref'] as const) {
    if (typeof socket[name] !== 'function') Object.assign(socket, { [name]: () => socket });
  }
  return socket as Socket;
}

function forwardedHeaders(headers: IncomingHttpHeaders, port: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_HEADERS.has(name)) continue;
    out[name] = value;
  }
  out.host = `127.0.0.1:${port}`;
  out.connection = 'close';
  return out;
}

export interface RuntimePortOptions {
  engine: Engine;
  logger: Logger;
  /** How long a request waits for a port that does not listen yet (default 30 s). */
  waitMs?: number;
}

export function runtimePortProxy(options: RuntimePortOptions): PortProxy {
  const { engine, logger } = options;
  const waitMs = options.waitMs ?? CONNECT_WAIT_MS;

  const open = async (sandboxId: string, port: number): Promise<Socket> => {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        return asSocket(await engine.connectPort(sandboxId, port));
      } catch (error) {
        if (!isBurrowError(error, 'PORT_NOT_LISTENING') || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS));
      }
    }
  };

  return {
    async forward(sandboxId, port, request: IncomingMessage, response: ServerResponse) {
      let socket: Socket;
      try {
        socket = await open(sandboxId, port);
      } catch (error) {
        if (!isBurrowError(error)) throw error;
        answerError(response, error.status, `port ${port} of sandbox ${sandboxId}: ${error.message}`);
        return;
      }
      await new Promise<void>((resolve) => {
        const fail = (message: string) => {
          answerError(response, 502, `port ${port} of sandbox ${sandboxId}: ${message}`);
          resolve();
        };
        const outgoing = httpRequest({
          method: request.method ?? 'GET',
          path: request.url ?? '/',
          headers: forwardedHeaders(request.headers, port),
          createConnection: () => socket,
        });
        outgoing.on('response', (incoming) => {
          const headers = { ...incoming.headers };
          delete headers.connection;
          delete headers['keep-alive'];
          response.writeHead(incoming.statusCode ?? 502, headers);
          incoming.pipe(response);
          incoming.on('end', resolve);
          incoming.on('error', () => {
            response.destroy();
            resolve();
          });
        });
        outgoing.on('error', (error) => {
          logger.debug({ sandbox: sandboxId, port, err: error }, 'a request to a sandbox port failed');
          fail(error.message);
        });
        // The client going away ends the connection into the sandbox.
        response.on('close', () => {
          if (!response.writableFinished) outgoing.destroy();
          socket.destroy();
        });
        request.pipe(outgoing);
      });
    },

    async upgrade(sandboxId, port, request, client, head) {
      let socket: Socket;
      try {
        socket = await open(sandboxId, port);
      } catch (error) {
        refuseUpgrade(
          client,
          502,
          'Bad Gateway',
          `port ${port} of sandbox ${sandboxId}: ${(error as Error).message}`,
        );
        return;
      }
      // The upgrade request is replayed as it came (its Upgrade and Connection headers kept), then bytes flow.
      const lines = [`${request.method ?? 'GET'} ${request.url ?? '/'} HTTP/1.1`];
      for (let index = 0; index < request.rawHeaders.length; index += 2) {
        const name = request.rawHeaders[index] ?? '';
        const lower = name.toLowerCase();
        if (lower === 'host' || lower.startsWith('e2b-') || lower === 'x-access-token') continue;
        lines.push(`${name}: ${request.rawHeaders[index + 1] ?? ''}`);
      }
      lines.push(`Host: 127.0.0.1:${port}`, '', '');
      socket.write(lines.join('\r\n'));
      if (head.length > 0) socket.write(head);
      socket.pipe(client);
      client.pipe(socket);
      const end = () => {
        socket.destroy();
        client.destroy();
      };
      socket.on('error', end);
      client.on('error', end);
      socket.on('close', end);
      client.on('close', end);
    },
  };
}
