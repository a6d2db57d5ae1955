/** WebSocket authentication with the key subprotocol, on the fake (ws-auth.test.ts) and on Docker (ws-auth.docker.test.ts). */
/**
 * WebSocket authentication for browsers: the API key as a `burrow.key.<base64url>` subprotocol offered beside
 * `burrow.v1`. The server accepts it only on an upgrade, selects only `burrow.v1` (the key is never echoed) and
 * refuses a wrong or malformed key exactly as it refuses a wrong header.
 */
import { WS_KEY_PROTOCOL_PREFIX, WS_PROTOCOL } from '@burrow/protocol';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startApi, transcript, type Harness, type RuntimeKind } from './test-support/harness.js';

export function wsAuthSuite(kind: RuntimeKind): void {
  let api: Harness;
  let id: string;
  beforeAll(async () => {
    api = await startApi({ runtime: kind });
    id = await api.sandbox();
  });
  afterAll(() => api.close());

  const keyProtocol = (key: string) => `${WS_KEY_PROTOCOL_PREFIX}${Buffer.from(key).toString('base64url')}`;

  function open(protocols: string[], headers: Record<string, string> = {}): WebSocket {
    return new WebSocket(`${api.url.replace('http', 'ws')}/api/v1/sandboxes/${id}/exec/stream`, protocols, {
      headers,
    });
  }

  /** The HTTP status and response headers of a refused (or accepted) upgrade. */
  function handshake(socket: WebSocket): Promise<{ status: number; headers: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      socket.on('upgrade', (response) => resolve({ status: 101, headers: response.headers }));
      socket.on('unexpected-response', (_request, response) => {
        resolve({ status: response.statusCode ?? 0, headers: response.headers });
        socket.terminate();
      });
      socket.on('error', (error) => {
        if (!/Unexpected server response/.test(error.message)) reject(error);
      });
    });
  }

  describe('WebSocket authentication by subprotocol', () => {
    it('opens with the key subprotocol, selects only burrow.v1 and runs the command', async () => {
      const socket = open([WS_PROTOCOL, keyProtocol(API_KEY)]);
      const upgraded = handshake(socket);
      const result = transcript(socket, { cmd: ['echo', 'hi'] });
      const { status, headers } = await upgraded;
      expect(status).toBe(101);
      expect(headers['sec-websocket-protocol']).toBe(WS_PROTOCOL);
      expect(socket.protocol).toBe(WS_PROTOCOL);
      const { messages, code } = await result;
      expect(code).toBe(1000);
      expect(messages.at(-1)).toMatchObject({ type: 'exit', data: '0' });
    });

    it('takes keys of any characters (base64url of the UTF-8 bytes)', async () => {
      const odd = await startApi({ runtime: kind, auth: { enabled: true, apiKeys: ['k/+= ü€'] } });
      try {
        const oddId = await odd.sandbox();
        const socket = new WebSocket(
          `${odd.url.replace('http', 'ws')}/api/v1/sandboxes/${oddId}/exec/stream`,
          [WS_PROTOCOL, keyProtocol('k/+= ü€')],
        );
        expect((await handshake(socket)).status).toBe(101);
        socket.close();
      } finally {
        await odd.close();
      }
    });

    it('refuses a wrong, malformed or lone key subprotocol with 401', async () => {
      for (const protocols of [
        [WS_PROTOCOL, keyProtocol(`${API_KEY}x`)],
        [WS_PROTOCOL, `${WS_KEY_PROTOCOL_PREFIX}not*base64`],
        [keyProtocol(API_KEY)],
        [WS_PROTOCOL],
      ]) {
        const { status, headers } = await handshake(open(protocols));
        expect([protocols, status]).toEqual([protocols, 401]);
        expect(JSON.stringify(headers)).not.toContain(API_KEY);
      }
    });

    it('selects burrow.v1 when the key comes as a header, and nothing when it is not offered', async () => {
      const offered = open([WS_PROTOCOL], { 'x-api-key': API_KEY });
      expect((await handshake(offered)).headers['sec-websocket-protocol']).toBe(WS_PROTOCOL);
      offered.close();
      const plain = open([], { 'x-api-key': API_KEY });
      expect((await handshake(plain)).headers['sec-websocket-protocol']).toBeUndefined();
      plain.close();
    });

    it('ignores the key subprotocol on requests that are not upgrades', async () => {
      const response = await fetch(`${api.url}/api/v1/sandboxes`, {
        headers: { 'sec-websocket-protocol': `${WS_PROTOCOL}, ${keyProtocol(API_KEY)}` },
      });
      expect(response.status).toBe(401);
    });
  });
}
