/** MCP over streamable HTTP against the server's real API (in-memory runtime): key forwarding and a session. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { API_KEY, startApi, type Harness, fakeOf } from '../../server/src/api/test-support/harness.js';
import { createMcpHttpHandler } from './index.js';

type ToolReply = { content: { type: string; text: string }[]; isError?: boolean };

let api: Harness;
let http: Server;
let url: string;

beforeAll(async () => {
  api = await startApi();
  const handler = createMcpHttpHandler({ url: api.url });
  http = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await api.close();
});

async function connect(headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const reply = (await client.callTool({ name, arguments: args })) as ToolReply;
  if (reply.isError === true) throw new Error(reply.content[0]?.text);
  return JSON.parse(reply.content[0]?.text ?? 'null') as Record<string, unknown>;
}

it('runs a session with the caller key (X-API-Key or Bearer); no key is an isError result', async () => {
  const client = await connect({ Authorization: `Bearer ${API_KEY}` });
  const { id } = await call(client, 'create_sandbox');
  expect(await call(client, 'write_file', { sandbox_id: id, path: '/tmp/a', content: 'x' })).toEqual({
    success: true,
  });
  expect(await call(client, 'exec', { sandbox_id: id, cmd: ['cat', '/tmp/a'] })).toEqual({
    exit_code: 0,
    stderr: '',
    stdout: 'x',
    success: true,
  });
  expect(await call(client, 'read_file', { sandbox_id: id, path: '/tmp/a' })).toEqual({ content: 'x' });
  const { snapshot_id } = await call(client, 'snapshot_create', { sandbox_id: id });
  const { sandbox_id } = await call(client, 'snapshot_restore', { snapshot_id });
  expect(await call(client, 'destroy_sandbox', { sandbox_id })).toEqual({ success: true });
  expect(await call(client, 'destroy_sandbox', { sandbox_id: id })).toEqual({ success: true });
  await client.close();

  const anonymous = await connect({});
  const reply = (await anonymous.callTool({ name: 'list_sandboxes', arguments: {} })) as ToolReply;
  expect(reply.isError).toBe(true);
  expect(reply.content[0]?.text).toMatch(/^Error: .*API key/);
  await anonymous.close();
});

it('returns a preview URL that opens the port with its token', async () => {
  const client = await connect({ 'X-API-Key': API_KEY });
  const { id } = (await call(client, 'create_sandbox')) as { id: string };
  fakeOf(api).ports.serve(id, 8000, (connection) => {
    connection.on('error', () => undefined);
    connection.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi');
  });
  const preview = (await call(client, 'get_preview_url', { sandbox_id: id, port: 8000, expires_in: 60 })) as {
    url: string;
    path_url: string;
    expires_at: string;
  };
  expect(preview.url).toMatch(new RegExp(`^http://8000-${id}\\.localhost:\\d+/\\?burrow_token=`));
  expect(Date.parse(preview.expires_at)).toBeGreaterThan(Date.now());
  const response = await fetch(preview.path_url);
  expect([response.status, await response.text()]).toEqual([200, 'hi']);
  await client.close();
});
