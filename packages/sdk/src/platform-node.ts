/**
 * Node's platform: WebSockets through the `ws` package, which can send the API key header and exposes the HTTP
 * response of a refused upgrade (so a 401 or 404 becomes the right typed error), and local files through `node:fs`.
 */
import WebSocket from 'ws';
import { AbortedError } from './client-errors.js';
import { errorFromBody } from './errors.js';
import { downloadToFile, uploadFromFile } from './local-files.js';
import type { OpenSocketOptions, Platform } from './platform.js';
import { awaitOpen, type SocketLike } from './websocket.js';

interface IncomingResponse {
  statusCode?: number;
  statusMessage?: string;
  headers: Record<string, string | string[] | undefined>;
  setEncoding(encoding: 'utf8'): void;
  on(event: 'data', listener: (chunk: string) => void): void;
  on(event: 'end' | 'error', listener: () => void): void;
}

function readBody(response: IncomingResponse): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk) => (text += chunk));
    response.on('end', () => resolve(text));
    response.on('error', () => resolve(text));
  });
}

async function openNodeSocket(url: string, options: OpenSocketOptions): Promise<SocketLike> {
  if (options.signal?.aborted === true) throw new AbortedError();
  const socket = new WebSocket(url, [], { headers: options.headers, perMessageDeflate: false });
  let refused: Promise<Error> | undefined;
  socket.on('unexpected-response', (_request, response) => {
    // Read the refusal's body before dropping the connection: it carries the error code.
    refused = readBody(response as unknown as IncomingResponse).then((text) => {
      socket.terminate();
      const retryAfter = response.headers['retry-after'];
      return errorFromBody(
        response.statusCode ?? 0,
        text,
        typeof retryAfter === 'string' ? retryAfter : null,
        response.statusMessage,
      );
    });
  });
  return awaitOpen(socket as unknown as SocketLike, {
    baseUrl: options.baseUrl,
    signal: options.signal,
    refusal: () => refused,
  });
}

export const nodePlatform: Platform = {
  openSocket: openNodeSocket,
  localFiles: { uploadFromFile, downloadToFile },
};
