/**
 * `burrow mcp --keep-sandboxes` with an embedded server (no server at BURROW_URL): the sandboxes of the session run
 * on after it ends; a later session without the flag sees them, destroys only what it created itself, and leaves
 * the kept one alone.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, instanceContainers, removeInstance } from '../../../test/support/child-server.js';
import { freePort, makeDataDir, TEST_IMAGE } from '../../../test/support/server.js';

type ToolReply = { content: { type: string; text: string }[]; isError?: boolean };

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const reply = (await client.callTool({ name, arguments: args })) as ToolReply;
  if (reply.isError === true) throw new Error(`${name}: ${reply.content[0]?.text}`);
  return JSON.parse(reply.content[0]?.text ?? 'null');
}

let dataDir: string;
let instance: string;
beforeAll(async () => {
  dataDir = await makeDataDir();
  instance = (await readFile(join(dataDir, 'instance'), 'utf8')).trim();
});
afterAll(async () => {
  await removeInstance(instance);
  await rm(dataDir, { recursive: true, force: true });
});

async function session(args: string[]): Promise<{ client: Client; transport: StdioClientTransport }> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('BURROW_')) env[name] = value;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...args],
    env: {
      ...env,
      BURROW_URL: `http://127.0.0.1:${await freePort()}`,
      BURROW_DATA_DIR: dataDir,
      BURROW_SANDBOX__DEFAULT_IMAGE: TEST_IMAGE,
      BURROW_SANDBOX__BUILD_DEFAULT_IMAGE: 'false',
    },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'e2e-keep', version: '1' });
  await client.connect(transport);
  return { client, transport };
}

/** Closes the session and waits until its process has exited (its clean-up is then over). */
async function end({
  client,
  transport,
}: {
  client: Client;
  transport: StdioClientTransport;
}): Promise<void> {
  const pid = transport.pid;
  await client.close();
  await expect
    .poll(
      () => {
        try {
          process.kill(pid!, 0);
          return 'running';
        } catch {
          return 'exited';
        }
      },
      { timeout: 30_000 },
    )
    .toBe('exited');
}

const running = async () =>
  (await instanceContainers(instance))
    .filter((container) => container.State === 'running')
    .map((c) => c.Labels['burrow.id']);

it('keeps the session sandboxes running with --keep-sandboxes, and a later session destroys only its own', async () => {
  const first = await session(['--keep-sandboxes']);
  const { id: kept } = (await call(first.client, 'create_sandbox', { timeout: 600 })) as { id: string };
  await call(first.client, 'write_file', {
    sandbox_id: kept,
    path: '/tmp/kept.txt',
    content: 'still here\n',
  });
  await end(first);
  expect(await running()).toEqual([kept]);

  const second = await session([]);
  const listed = (await call(second.client, 'list_sandboxes')) as {
    sandboxes: { id: string; status: string }[];
  };
  expect(listed.sandboxes).toEqual([expect.objectContaining({ id: kept, status: 'running' })]);
  expect(await call(second.client, 'read_file', { sandbox_id: kept, path: '/tmp/kept.txt' })).toEqual({
    content: 'still here\n',
  });
  const { id: own } = (await call(second.client, 'create_sandbox', { timeout: 600 })) as { id: string };
  expect((await running()).sort()).toEqual([kept, own].sort());
  await end(second);
  expect(await running()).toEqual([kept]);
  await new Dockerode().getContainer(`burrow-${kept}`).inspect();
});
