/** The MCP server against the SDK's in-process fake API, driven by the official MCP client. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burrow } from '@burrow/sdk';
import { startFakeApi, type FakeApi } from '../../sdk/src/test-support/fake-api.js';
import { createMcpHttpHandler, createMcpServer, fileContent, type BurrowMcpServer } from './index.js';
import { trimPartialUtf8 } from './tools/file-tools.js';

const DEN_TOOLS = [
  'create_sandbox',
  'exec',
  'read_file',
  'write_file',
  'list_files',
  'delete_file',
  'mkdir',
  'destroy_sandbox',
  'list_sandboxes',
  'snapshot_create',
  'snapshot_restore',
];
const BURROW_TOOLS = [
  'get_preview_url',
  'start_sandbox',
  'stop_sandbox',
  'stat_file',
  'sandbox_stats',
  'snapshot_list',
  'snapshot_delete',
  'start_process',
  'process_output',
  'send_process_input',
  'list_processes',
  'kill_process',
  'pause_sandbox',
  'resume_sandbox',
  'fork_sandbox',
];

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi({ apiKey: 'key' });
});
afterAll(() => api.close());

async function connect(
  keepSandboxes = false,
  maxReadBytes?: number,
): Promise<{ client: Client; server: BurrowMcpServer }> {
  const server = createMcpServer({
    client: new Burrow({ url: api.url, apiKey: 'key' }),
    keepSandboxes,
    ...(maxReadBytes === undefined ? {} : { maxReadBytes }),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  return { client, server };
}

type ToolReply = { content: { type: string; text: string }[]; isError?: boolean };

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const reply = (await client.callTool({ name, arguments: args })) as ToolReply;
  if (reply.isError === true) throw new Error(reply.content[0]?.text);
  return JSON.parse(reply.content[0]?.text ?? 'null') as Record<string, unknown>;
}

describe('MCP tools', () => {
  it("lists Den's eleven tools and Burrow's fifteen, with descriptions that teach", async () => {
    const { client, server } = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([...DEN_TOOLS, ...BURROW_TOOLS].sort());
    const exec = tools.find((tool) => tool.name === 'exec');
    expect(exec?.description).toContain('["sh", "-c"');
    expect(exec?.inputSchema.required).toEqual(['sandbox_id', 'cmd']);
    await server.close();
  });

  it('runs a session: create, write, exec, read, snapshot, restore, destroy', async () => {
    const { client, server } = await connect();
    const created = await call(client, 'create_sandbox', { image: 'img' });
    expect(created).toEqual({ id: expect.any(String), status: 'running' });
    const id = created.id as string;
    expect(await call(client, 'write_file', { sandbox_id: id, path: '/tmp/a.txt', content: 'hi' })).toEqual({
      success: true,
    });
    expect(await call(client, 'exec', { sandbox_id: id, cmd: ['echo', 'hello'] })).toEqual({
      exit_code: 0,
      stderr: '',
      stdout: 'hello\n',
      success: true,
    });
    expect(await call(client, 'exec', { sandbox_id: id, cmd: ['exit', '2'] })).toMatchObject({
      exit_code: 2,
      success: false,
    });
    expect(await call(client, 'read_file', { sandbox_id: id, path: '/tmp/a.txt' })).toEqual({
      content: 'hi',
    });
    expect(await call(client, 'list_files', { sandbox_id: id, path: '/tmp' })).toMatchObject({
      files: [{ name: 'a.txt', is_dir: false }],
    });
    expect(await call(client, 'stat_file', { sandbox_id: id, path: '/tmp/a.txt' })).toMatchObject({
      size: 2,
    });
    expect(await call(client, 'mkdir', { sandbox_id: id, path: '/tmp/d' })).toEqual({ success: true });
    expect(await call(client, 'delete_file', { sandbox_id: id, path: '/tmp/a.txt' })).toEqual({
      success: true,
    });
    const { snapshot_id } = await call(client, 'snapshot_create', { sandbox_id: id });
    expect(await call(client, 'snapshot_list', { sandbox_id: id })).toMatchObject({
      snapshots: [{ id: snapshot_id }],
    });
    const { sandbox_id: restored } = await call(client, 'snapshot_restore', { snapshot_id });
    expect(restored).not.toBe(id);
    expect(await call(client, 'snapshot_delete', { snapshot_id })).toEqual({ success: true });
    expect(await call(client, 'sandbox_stats', { sandbox_id: id })).toMatchObject({ pid_count: 5 });
    expect(await call(client, 'stop_sandbox', { sandbox_id: id })).toEqual({
      success: true,
      status: 'stopped',
    });
    expect(await call(client, 'start_sandbox', { sandbox_id: id })).toEqual({
      success: true,
      status: 'running',
    });
    const listed = await call(client, 'list_sandboxes');
    expect((listed.sandboxes as { id: string }[]).map((item) => item.id)).toEqual(
      expect.arrayContaining([id, restored]),
    );
    expect(await call(client, 'destroy_sandbox', { sandbox_id: id })).toEqual({ success: true });
    expect([...server.created]).toEqual([restored]);
    await server.close();
    expect(api.sandboxes.has(restored as string)).toBe(false);
  });

  it('pauses, resumes and forks; copies are destroyed with the session', async () => {
    const { client, server } = await connect();
    const { id } = await call(client, 'create_sandbox');
    expect(await call(client, 'pause_sandbox', { sandbox_id: id })).toEqual({
      success: true,
      status: 'paused',
    });
    expect(api.sandboxes.get(id as string)?.status).toBe('paused');
    expect(await call(client, 'resume_sandbox', { sandbox_id: id })).toEqual({
      success: true,
      status: 'running',
    });
    const { sandbox_ids: copies } = (await call(client, 'fork_sandbox', { sandbox_id: id, count: 2 })) as {
      sandbox_ids: string[];
    };
    expect(copies).toHaveLength(2);
    await server.close();
    for (const copy of [id as string, ...copies]) expect(api.sandboxes.has(copy)).toBe(false);
  });

  it('reports failures as isError results with the server message', async () => {
    const { client, server } = await connect();
    const reply = (await client.callTool({
      name: 'exec',
      arguments: { sandbox_id: 'nope', cmd: ['true'] },
    })) as ToolReply;
    expect(reply).toEqual({ content: [{ type: 'text', text: 'Error: sandbox not found' }], isError: true });
    await server.close();
  });

  it('refuses an exec timeout above the 24 h maximum instead of letting it wrap', async () => {
    const { client, server } = await connect();
    const { id } = await call(client, 'create_sandbox');
    const reply = (await client.callTool({
      name: 'exec',
      arguments: { sandbox_id: id, cmd: ['true'], timeout: 4_294_968 },
    })) as ToolReply;
    expect(reply.isError).toBe(true);
    expect(reply.content[0]?.text).toMatch(/timeout/);
    expect(reply.content[0]?.text).toMatch(/86400/);
    await server.close();
  });

  it('reads at most maxReadBytes of a file, and says how big it is', async () => {
    const { client, server } = await connect(false, 8);
    const { id } = await call(client, 'create_sandbox');
    // "héllo wörld": the cut after 8 bytes falls inside "ö" (2 bytes), which is dropped rather than mangled.
    await call(client, 'write_file', { sandbox_id: id, path: '/tmp/big.txt', content: 'héllo wörld' });
    const read = await call(client, 'read_file', { sandbox_id: id, path: '/tmp/big.txt' });
    expect(read).toMatchObject({ content: 'héllo w', truncated: true, size: 13 });
    expect(read.note).toMatch(/only the first 8 bytes of this 13-byte file/);
    await call(client, 'write_file', { sandbox_id: id, path: '/tmp/small.txt', content: 'tiny' });
    expect(await call(client, 'read_file', { sandbox_id: id, path: '/tmp/small.txt' })).toEqual({
      content: 'tiny',
    });
    await server.close();
  });

  it('drops only an incomplete UTF-8 sequence at a cut', () => {
    const bytes = new TextEncoder().encode('a€'); // 61 e2 82 ac
    expect([...trimPartialUtf8(bytes.subarray(0, 3))]).toEqual([0x61]);
    expect([...trimPartialUtf8(bytes)]).toEqual([...bytes]);
    expect([...trimPartialUtf8(new Uint8Array([0x61, 0x62]))]).toEqual([0x61, 0x62]);
  });

  it('treats timeout 0 and negatives as Den does: the default lifetime, no exec timeout', async () => {
    const { client, server } = await connect();
    const seen = api.bodies.length;
    const created = await call(client, 'create_sandbox', { timeout: 0 });
    await call(client, 'create_sandbox', { timeout: -5 });
    await call(client, 'exec', { sandbox_id: created.id, cmd: ['echo', 'hi'], timeout: 0 });
    await call(client, 'exec', { sandbox_id: created.id, cmd: ['echo', 'hi'], timeout: -1 });
    const bodies = api.bodies.slice(seen).map((entry) => entry.body);
    expect(bodies).toHaveLength(4);
    for (const body of bodies) expect(body.timeout).toBeUndefined();
    await server.close();
  });

  it('runs tool calls concurrently', async () => {
    const { client, server } = await connect();
    const { id } = await call(client, 'create_sandbox');
    await Promise.all([1, 2, 3].map(() => call(client, 'exec', { sandbox_id: id, cmd: ['sleep', '1'] })));
    // All three were running at once (the API counts them), however slow the machine: no timing bound needed.
    expect(api.peakExecs()).toBe(3);
    await server.close();
  });

  it('keeps its sandboxes when asked to', async () => {
    const { client, server } = await connect(true);
    const { id } = await call(client, 'create_sandbox');
    await server.close();
    expect(api.sandboxes.has(id as string)).toBe(true);
  });

  it('returns non-UTF-8 content as base64', () => {
    expect(fileContent(new TextEncoder().encode('héllo'))).toBe('héllo');
    expect(fileContent(new Uint8Array([0xff, 0xfe]))).toBe('base64://4=');
  });
});

describe('MCP over streamable HTTP', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    const handler = createMcpHttpHandler({ url: api.url });
    server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function httpClient(apiKey?: string): Promise<Client> {
    const headers: Record<string, string> = apiKey === undefined ? {} : { 'X-API-Key': apiKey };
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
    return client;
  }

  it("forwards the caller's API key to the API", async () => {
    const client = await httpClient('key');
    expect((await client.listTools()).tools).toHaveLength(DEN_TOOLS.length + BURROW_TOOLS.length);
    const { id } = await call(client, 'create_sandbox');
    expect(await call(client, 'exec', { sandbox_id: id, cmd: ['echo', 'over http'] })).toMatchObject({
      stdout: 'over http\n',
    });
    expect(await call(client, 'destroy_sandbox', { sandbox_id: id })).toEqual({ success: true });
    await client.close();

    const anonymous = await httpClient();
    const reply = (await anonymous.callTool({ name: 'list_sandboxes', arguments: {} })) as ToolReply;
    expect(reply).toEqual({ content: [{ type: 'text', text: 'Error: invalid API key' }], isError: true });
    await anonymous.close();
  });
});
