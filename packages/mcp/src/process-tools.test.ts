/** The process tools against the server's real API (in-memory runtime), driven by the official MCP client. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burrow } from '@burrow/sdk';
import { API_KEY, startApi, type Harness } from '../../server/src/api/test-support/harness.js';
import { createMcpServer, type BurrowMcpServer } from './index.js';

type ToolReply = { content: { type: string; text: string }[]; isError?: boolean };

let api: Harness;
let server: BurrowMcpServer;
let client: Client;
let id: string;

beforeAll(async () => {
  api = await startApi();
  server = createMcpServer({ client: new Burrow({ url: api.url, apiKey: API_KEY }) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  id = await api.sandbox();
});
afterAll(async () => {
  await server.close();
  await api.close();
});

async function call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const reply = (await client.callTool({ name, arguments: args })) as ToolReply;
  if (reply.isError === true) throw new Error(reply.content[0]?.text);
  return JSON.parse(reply.content[0]?.text ?? 'null') as Record<string, unknown>;
}

describe('process tools', () => {
  it('runs a dev server across turns: start, read its output, list, kill', async () => {
    const started = await call('start_process', {
      sandbox_id: id,
      cmd: ['sh', '-c', 'echo Serving on port 8000; echo GET / 200 >&2; sleep 60'],
      tag: 'dev-server',
    });
    expect(started).toMatchObject({ tag: 'dev-server', running: true });
    const processId = started.process_id as string;
    expect(processId).toMatch(/^proc_/);

    expect(await call('process_output', { sandbox_id: id, process_id: processId })).toMatchObject({
      process_id: processId,
      running: true,
      stdout: 'Serving on port 8000\n',
      stderr: 'GET / 200\n',
    });
    const listed = (await call('list_processes', { sandbox_id: id })).processes as Record<string, unknown>[];
    expect(listed).toContainEqual(expect.objectContaining({ process_id: processId, tag: 'dev-server' }));
    expect(await call('kill_process', { sandbox_id: id, process_id: processId })).toEqual({
      success: true,
      exit_code: 137,
    });
    expect(await call('process_output', { sandbox_id: id, process_id: processId })).toMatchObject({
      running: false,
      exit_code: 137,
    });
  });

  it('feeds input, waits for the exit, and says when output was cut', async () => {
    const { process_id: processId } = await call('start_process', {
      sandbox_id: id,
      cmd: ['cat'],
      stdin: true,
    });
    expect(
      await call('send_process_input', { sandbox_id: id, process_id: processId, input: 'x'.repeat(100) }),
    ).toEqual({
      success: true,
    });
    await call('send_process_input', { sandbox_id: id, process_id: processId, input: '\nend\n', eof: true });
    const output = await call('process_output', {
      sandbox_id: id,
      process_id: processId,
      wait_seconds: 5,
      max_bytes: 10,
    });
    expect(output).toMatchObject({ running: false, exit_code: 0, stdout: 'xxxxx\nend\n' });
    expect(String(output.note)).toMatch(/earlier stdout output was cut: showing at most the last 10 bytes/);
  });

  it('signals; failures are isError results with the server message', async () => {
    const { process_id: processId } = await call('start_process', { sandbox_id: id, cmd: ['sleep', '60'] });
    expect(await call('kill_process', { sandbox_id: id, process_id: processId, signal: 'SIGTERM' })).toEqual({
      success: true,
    });
    expect(
      await call('process_output', { sandbox_id: id, process_id: processId, wait_seconds: 5 }),
    ).toMatchObject({
      exit_code: 143,
    });
    const missing = (await client.callTool({
      name: 'process_output',
      arguments: { sandbox_id: id, process_id: 'proc_00000000' },
    })) as ToolReply;
    expect(missing.isError).toBe(true);
    expect(missing.content[0]?.text).toMatch(/^Error: .*process/);
    const noStdin = (await client.callTool({
      name: 'send_process_input',
      arguments: { sandbox_id: id, process_id: processId, input: 'x' },
    })) as ToolReply;
    expect(noStdin.isError).toBe(true);
    // The process has exited (SIGTERM above): the agent's answer, which the fake gives too.
    expect(noStdin.content[0]?.text).toMatch(/the process has exited/);
  });
});
