/**
 * A sandbox port reached through the runtime: a small relay runs inside the sandbox (Python, as the code
 * interpreter image has it), connects to 127.0.0.1:<port> there and copies bytes between that connection and its
 * stdin/stdout. On the host the exec's streams are one byte stream that Node's HTTP client speaks over, so the
 * response is parsed by Node, never by hand. One exec per request (`Connection: close`).
 */
import {
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../logger.js';
import type { ExecStream } from '../../runtime/runtime.js';
import { answerError, refuseUpgrade, type PortProxy } from './port-proxy.js';

/**
 * Copies stdin to the port and the port to stdout. A refused connection is retried for `argv[2]` seconds (a
 * server that starts with the sandbox may not listen yet); then it exits 3.
 */
export const RELAY_SCRIPT = `
import socket, sys, threading, time
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
        break
    except ConnectionRefusedError as e:
        if time.monotonic() >= deadline:
            sys.stderr.write("connect: %s\\n" % e)
            sys.exit(3)
        time.sleep(0.1)
    except OSError as e:
        sys.stderr.write("connect: %s\\n" % e)
        sys.exit(3)
s.settimeout(None)
def up():
    src = sys.stdin.buffer.raw
    while True:
        b = src.read(65536)
        if not b:
            break
        s.sendall(b)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
threading.Thread(target=up, daemon=True).start()
out = sys.stdout.buffer
while True:
    b = s.recv(65536)
    if not b:
        break
    out.write(b)
    out.flush()
`;

const MAX_STDERR_BYTES = 4096;
/** How long a relay waits for the port to open (the code interpreter starts with its sandbox). */
const CONNECT_WAIT_SECONDS = 30;
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

/** The exec as a socket-like byte stream; `failure()` says why it ended early, from the relay's stderr. */
class RelaySocket extends Duplex {
  private stderr = '';
  private exitCode: number | undefined;

  constructor(private readonly stream: ExecStream) {
    super();
    void this.pump();
  }

  private async pump(): Promise<void> {
    try {
      for await (const event of this.stream) {
        if (event.type === 'stdout') {
          this.push(event.data);
        } else if (event.type === 'stderr') {
          if (this.stderr.length < MAX_STDERR_BYTES) this.stderr += event.data.toString('utf8');
        } else {
          this.exitCode = event.exitCode;
        }
      }
      this.push(null);
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  /** Why the relay could not carry the request, when it failed. */
  failure(): string | undefined {
    if (this.exitCode === undefined || this.exitCode === 0) return undefined;
    if (this.exitCode === 3) return `nothing listens on that port (${this.stderr.trim().slice(0, 200)})`;
    if (this.exitCode === 127) return 'the image has no python3 to relay the traffic with';
    return `the relay exited with ${this.exitCode}: ${this.stderr.trim().slice(0, 200)}`;
  }

  override _read(): void {
    // Data is pushed as the exec delivers it.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.stream.stdin.write(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.stream.stdin.end().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stream.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  // What Node's HTTP client may call on a socket.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
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

export interface ExecRelayOptions {
  engine: Engine;
  logger: Logger;
}

export function execRelayProxy(options: ExecRelayOptions): PortProxy {
  const { engine, logger } = options;

  const open = async (sandboxId: string, port: number): Promise<RelaySocket> =>
    new RelaySocket(
      await engine.execStream(sandboxId, {
        cmd: ['python3', '-c', RELAY_SCRIPT, String(port), String(CONNECT_WAIT_SECONDS)],
        openStdin: true,
      }),
    );

  return {
    async forward(sandboxId, port, request: IncomingMessage, response: ServerResponse) {
      const socket = await open(sandboxId, port);
      await new Promise<void>((resolve) => {
        const fail = (message: string) => {
          answerError(response, 502, `port ${port} of sandbox ${sandboxId}: ${message}`);
          resolve();
        };
        const outgoing = httpRequest({
          method: request.method ?? 'GET',
          path: request.url ?? '/',
          headers: forwardedHeaders(request.headers, port),
          createConnection: () => socket as unknown as Socket,
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
          const why = socket.failure() ?? error.message;
          logger.debug({ sandbox: sandboxId, port, err: error }, 'relayed request failed');
          fail(why);
        });
        // The client going away ends the relay (and the exec with it).
        response.on('close', () => {
          if (!response.writableFinished) outgoing.destroy();
          socket.destroy();
        });
        request.pipe(outgoing);
      });
    },

    async upgrade(sandboxId, port, request, client, head) {
      let socket: RelaySocket;
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
