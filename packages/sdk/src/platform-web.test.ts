/**
 * The browser entry's platform against the server's real API (fake runtime): WebSockets authenticate with the key
 * subprotocol (no headers, no key in the URL), a refused upgrade still becomes the right typed error, and the
 * subprotocol names match the wire contract. `ws` stands in for the browser's WebSocket class (same constructor).
 */
import * as protocol from '@burrow/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { API_KEY, startApi, type Harness } from '../../server/src/api/test-support/harness.js';
import { Burrow } from './burrow.js';
import { CommandStream } from './command-stream.js';
import { HttpClient } from './http.js';
import { AuthenticationError } from './errors.js';
import { webPlatform } from './platform-web.js';
import { keyProtocols, WS_KEY_PROTOCOL_PREFIX, WS_PROTOCOL } from './websocket.js';

let api: Harness;
const platform = () => webPlatform({ WebSocket: WebSocket as unknown as new (url: string) => unknown });

beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api.close());

describe('web platform', () => {
  it('uses the subprotocol names of the wire contract', () => {
    expect(WS_PROTOCOL).toBe(protocol.WS_PROTOCOL);
    expect(WS_KEY_PROTOCOL_PREFIX).toBe(protocol.WS_KEY_PROTOCOL_PREFIX);
    expect(keyProtocols('a/b+c=ü')).toEqual([
      'burrow.v1',
      `burrow.key.${Buffer.from('a/b+c=ü').toString('base64url')}`,
    ]);
  });

  it('streams a command with the key as a subprotocol', async () => {
    const burrow = new Burrow({ url: api.url, apiKey: API_KEY }, platform());
    const sandbox = await burrow.create();
    const proc = await sandbox.commands.stream(['echo', 'from the browser entry']);
    expect((await proc.wait()).stdout).toBe('from the browser entry\n');
    await sandbox.destroy();
  });

  it('turns a refused upgrade into a typed error by asking the same URL over HTTP', async () => {
    const sandbox = await new Burrow({ url: api.url, apiKey: API_KEY }, platform()).create();
    const wrong = new HttpClient({ url: api.url, apiKey: `${API_KEY}x`, timeoutMs: 0, platform: platform() });
    const error = await CommandStream.open(wrong, sandbox.id, 'echo x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as AuthenticationError).message).toBe('invalid API key');
    await sandbox.destroy();
  });
});
