/**
 * Traffic for a sandbox port other than envd's (`sandbox.getHost(port)` URLs, the code interpreter's 49999). One
 * call per request or upgrade: the preview proxy of the networking work implements this for every port; until it
 * exists, other ports answer a clear error, and the code interpreter's port goes through the runtime's
 * connection into the sandbox (runtime-port.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { e2bErrorBody } from '../errors.js';

export interface PortProxy {
  /** Forwards one HTTP request to `port` inside the sandbox and writes the response to `response`. */
  forward(sandboxId: string, port: number, request: IncomingMessage, response: ServerResponse): Promise<void>;
  /** Hands an upgrade request (a WebSocket) and its connection to `port` inside the sandbox. */
  upgrade(
    sandboxId: string,
    port: number,
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void>;
}

/** Writes an E2B error body as the response (when nothing was sent yet) and ends it. */
export function answerError(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify(e2bErrorBody(status, message));
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** Refuses an upgrade with a status line and a JSON body, then closes the connection. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  const body = JSON.stringify(e2bErrorBody(status, message));
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function unavailable(port: number, sandboxId: string): string {
  return `port ${port} of sandbox ${sandboxId}: this server does not forward traffic to sandbox ports yet (preview URLs are not available); only envd (49983) and the code interpreter (49999) are served`;
}

/** The proxy until preview URLs exist: every request and upgrade is answered 501 with what is and is not served. */
export const unavailablePreviewProxy: PortProxy = {
  forward(sandboxId, port, _request, response) {
    answerError(response, 501, unavailable(port, sandboxId));
    return Promise.resolve();
  },
  upgrade(sandboxId, port, _request, socket) {
    refuseUpgrade(socket, 501, 'Not Implemented', unavailable(port, sandboxId));
    return Promise.resolve();
  },
};

/** Sends `ports` to `direct` and every other port to `preview`. */
export function portRouter(direct: PortProxy, ports: ReadonlySet<number>, preview: PortProxy): PortProxy {
  const pick = (port: number) => (ports.has(port) ? direct : preview);
  return {
    forward: (sandboxId, port, request, response) => pick(port).forward(sandboxId, port, request, response),
    upgrade: (sandboxId, port, request, socket, head) =>
      pick(port).upgrade(sandboxId, port, request, socket, head),
  };
}
