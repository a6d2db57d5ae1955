/** The MCP server with the official MCP client, over stdio (`burrow mcp`) and streamable HTTP, on a real server. */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burrow } from '@burrow/sdk';
import { instanceContainers, removeInstance } from '../../../test/support/child-server.js';
import {
  freePort,
  makeDataDir,
  startTestServer,
  TEST_IMAGE,
  type TestServer,
} from '../../../test/support/server.js';

const BIN = fileURLToPath(new URL('../../cli/dist/bin.js', import.meta.url));

type ToolReply = { content: { type: string; text: string }[]; isError?: boolean };

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const reply = (await client.callTool({ name, arguments: args })) as ToolReply;
  if (reply.isError === true) throw new Error(`${name}: ${reply.content[0]?.text}`);
  return JSON.parse(reply.content[0]?.text ?? 'null') as Record<string, unknown>;
}

/** create -> write -> exec -> read -> snapshot -> restore -> destroy; returns the ids it made. */
async function session(client: Client): Promise<string[]> {
  const { tools } = await client.listTools();
  expect(tools).toHaveLength(26);
  const { id } = (await call(client, 'create_sandbox', { timeout: 600 })) as { id: string };
  expect(
    await call(client, 'write_file', {
      sandbox_id: id,
      path: '/home/sandbox/app.py',
      content: 'print(6 * 7)\n',
    }),
  ).toEqual({
    success: true,
  });
  expect(await call(client, 'exec', { sandbox_id: id, cmd: ['python3', '/home/sandbox/app.py'] })).toEqual({
    exit_code: 0,
    stderr: '',
    stdout: '42\n',
    success: true,
  });
  expect(await call(client, 'exec', { sandbox_id: id, cmd: ['sh', '-c', 'exit 5'] })).toMatchObject({
    exit_code: 5,
    success: false,
  });
  expect(await call(client, 'read_file', { sandbox_id: id, path: '/home/sandbox/app.py' })).toEqual({
    content: 'print(6 * 7)\n',
  });
  const { snapshot_id } = (await call(client, 'snapshot_create', { sandbox_id: id, name: 'mcp' })) as {
    snapshot_id: string;
  };
  const { sandbox_id: restored } = (await call(client, 'snapshot_restore', { snapshot_id })) as {
    sandbox_id: string;
  };
  expect(await call(client, 'read_file', { sandbox_id: restored, path: '/home/sandbox/app.py' })).toEqual({
    content: 'print(6 * 7)\n',
  });
  const failed = (await client.callTool({
    name: 'read_file',
    arguments: { sandbox_id: id, path: '/nope/nothing' },
  })) as ToolReply;
  expect(failed.isError).toBe(true);
  expect(failed.content[0]?.text).toMatch(/^Error: /);
  expect(await call(client, 'destroy_sandbox', { sandbox_id: id })).toEqual({ success: true });
  expect(await call(client, 'snapshot_delete', { snapshot_id })).toEqual({ success: true });
  return [id, restored];
}

let server: TestServer;
let burrow: Burrow;
beforeAll(async () => {
  server = await startTestServer();
  burrow = new Burrow({ url: server.url });
});
afterAll(() => server?.close());

describe('burrow mcp (stdio)', () => {
  it('runs a session and destroys what it created when the client disconnects', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp', '--no-embedded'],
      env: { ...(process.env as Record<string, string>), BURROW_URL: server.url },
      stderr: 'inherit',
    });
    const client = new Client({ name: 'e2e', version: '1' });
    await client.connect(transport);
    const [, restored] = await session(client);
    // The restored sandbox is still alive until the MCP session ends.
    expect((await burrow.get(restored!)).info.status).toBe('running');
    await client.close();
    await expect.poll(async () => (await burrow.list()).length, { timeout: 20_000 }).toBe(0);
  });
});

describe('burrow mcp (stdio) with no server running', () => {
  it('starts an embedded server and removes what it created when the client disconnects', async () => {
    const dataDir = await makeDataDir();
    const instance = (await readFile(join(dataDir, 'instance'), 'utf8')).trim();
    try {
      const env: Record<string, string> = {};
      for (const [name, value] of Object.entries(process.env)) {
        if (value !== undefined && !name.startsWith('BURROW_')) env[name] = value;
      }
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [BIN, 'mcp'],
        env: {
          ...env,
          BURROW_URL: `http://127.0.0.1:${await freePort()}`,
          BURROW_DATA_DIR: dataDir,
          BURROW_SANDBOX__DEFAULT_IMAGE: TEST_IMAGE,
          BURROW_SANDBOX__BUILD_DEFAULT_IMAGE: 'false',
        },
        stderr: 'inherit',
      });
      const client = new Client({ name: 'e2e-embedded', version: '1' });
      await client.connect(transport);
      const { id } = (await call(client, 'create_sandbox', {})) as { id: string };
      expect(await call(client, 'exec', { sandbox_id: id, cmd: ['echo', 'embedded'] })).toMatchObject({
        exit_code: 0,
        stdout: 'embedded\n',
      });
      expect(await instanceContainers(instance)).toHaveLength(1);
      await client.close();
      await expect.poll(() => instanceContainers(instance), { timeout: 20_000 }).toEqual([]);
    } finally {
      await removeInstance(instance);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('MCP over streamable HTTP at /mcp of burrow serve', () => {
  it('runs a session', async () => {
    const client = new Client({ name: 'e2e-http', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    const [, restored] = await session(client);
    await client.close();
    // Over HTTP there is no session end: the agent destroys what it keeps.
    await burrow.get(restored!).then((sandbox) => sandbox.destroy());
  });

  describe('with auth on', () => {
    let secured: TestServer;
    beforeAll(async () => {
      secured = await startTestServer({ apiKeys: ['mcp-key'] });
    });
    afterAll(() => secured?.close());

    it('refuses a client without the API key, like the API does', async () => {
      const response = await fetch(`${secured.url}/mcp`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'missing API key', code: 'UNAUTHORIZED' });

      const client = new Client({ name: 'e2e-http', version: '1' });
      const wrongKey = new StreamableHTTPClientTransport(new URL(`${secured.url}/mcp`), {
        requestInit: { headers: { 'X-API-Key': 'wrong' } },
      });
      await expect(client.connect(wrongKey)).rejects.toThrow(/invalid API key/);
    });

    it('serves tools with the key, and the tools act with that key', async () => {
      const client = new Client({ name: 'e2e-http', version: '1' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${secured.url}/mcp`), {
          requestInit: { headers: { Authorization: 'Bearer mcp-key' } },
        }),
      );
      const { id } = (await call(client, 'create_sandbox', { timeout: 600 })) as { id: string };
      expect(await call(client, 'exec', { sandbox_id: id, cmd: ['echo', 'hi'] })).toMatchObject({
        exit_code: 0,
        stdout: 'hi\n',
      });
      expect(await call(client, 'destroy_sandbox', { sandbox_id: id })).toEqual({ success: true });
      await client.close();
    });
  });
});
