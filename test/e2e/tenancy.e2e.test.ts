/**
 * Several users on one real server over the real Docker engine: an admin key from the config file and two tenant
 * keys made with `burrow keys create` while the server runs. Burrow's SDK, Den's SDK, the WebSocket exec and MCP
 * over HTTP each see their own tenant's sandboxes only; quotas refuse with 429 and recover; a key revoked with
 * `burrow keys revoke` fails on its very next request; the audit log holds who did what and no secret.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Burrow, Den, DenError, RateLimitError, SandboxNotFoundError, type Sandbox } from '@burrow/sdk';
import { BIN } from '../support/child-server.js';
import { startTestServer, type TestServer } from '../support/server.js';

const ADMIN_KEY = 'admin-key-from-the-config-file';
/** The server's SQLite library, for reading its tables directly (its types live with the server package). */
const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  path: string,
  options: { readonly: boolean },
) => { prepare(sql: string): { all(): unknown[] }; close(): void };

/** Values that must never reach the audit log. */
const SECRETS = ['env-value-sekrit', 'exec-env-sekrit', 'stdin-sekrit', 'file-content-sekrit'];

let server: TestServer;
let aliceKey: string;
let bobKey: string;
let alice: Burrow;
let bob: Burrow;
let admin: Burrow;
let aliceBox: Sandbox;

/** `burrow <args> --data-dir <the server's>`, as the operator on the server host runs it. */
async function burrow(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('BURROW_')) env[name] = value;
  return promisify(execFile)(process.execPath, [BIN, ...args, '--data-dir', server.dataDir], { env });
}

async function mcpClient(key: string): Promise<Client> {
  const client = new Client({ name: 'tenancy-e2e', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: { 'X-API-Key': key } },
    }),
  );
  return client;
}

async function tool(client: Client, name: string, args: Record<string, unknown>) {
  const reply = (await client.callTool({ name, arguments: args })) as {
    content: { text: string }[];
    isError?: boolean;
  };
  return { isError: reply.isError === true, text: reply.content[0]?.text ?? '' };
}

beforeAll(async () => {
  server = await startTestServer({
    apiKeys: [ADMIN_KEY],
    config: { tenancy: { tenants: { alpha: { max_sandboxes: 2, max_snapshots: 1 } } } },
  });
  // Keys made while the server runs: no restart.
  aliceKey = (await burrow('keys', 'create', '--name', 'alice', '--tenant', 'alpha')).stdout.trim();
  bobKey = (await burrow('keys', 'create', '--name', 'bob', '--tenant', 'beta', '--e2b')).stdout.trim();
  expect(bobKey).toMatch(/^e2b_[0-9a-f]{40}$/);
  alice = new Burrow({ url: server.url, apiKey: aliceKey });
  bob = new Burrow({ url: server.url, apiKey: bobKey });
  admin = new Burrow({ url: server.url, apiKey: ADMIN_KEY });
  aliceBox = await alice.create({ env: { TOKEN: 'env-value-sekrit' }, timeoutSeconds: 600 });
});

afterAll(async () => {
  await server?.close();
});

describe("a tenant's sandboxes", () => {
  it('work for their tenant through the SDK, HTTP and WebSocket alike', async () => {
    expect(aliceBox.info.owner).toEqual({ tenant: 'alpha', key: 'alice' });
    const run = await aliceBox.commands.run(['sh', '-c', 'cat >/dev/null; echo "$TOKEN" | wc -c'], {
      env: { EXTRA: 'exec-env-sekrit' },
      stdin: 'stdin-sekrit',
    });
    expect(run.stdout.trim()).toBe('17');
    await aliceBox.files.write('/tmp/notes.txt', 'file-content-sekrit');
    expect(await aliceBox.files.readText('/tmp/notes.txt')).toBe('file-content-sekrit');
    const stream = await aliceBox.commands.stream(['echo', 'over the websocket']);
    expect((await stream.wait()).stdout).toBe('over the websocket\n');
    expect((await alice.list()).map((sandbox) => sandbox.id)).toEqual([aliceBox.id]);
  });

  it('do not exist for another tenant: not listed, 404 over HTTP and on the WebSocket', async () => {
    expect(await bob.list()).toEqual([]);
    expect(await bob.get(aliceBox.id).catch((error: unknown) => error)).toBeInstanceOf(SandboxNotFoundError);
    const response = await fetch(`${server.url}/api/v1/sandboxes/${aliceBox.id}/exec`, {
      method: 'POST',
      headers: { 'x-api-key': bobKey },
      body: JSON.stringify({ cmd: ['cat', '/tmp/notes.txt'] }),
    });
    expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([
      404,
      'SANDBOX_NOT_FOUND',
    ]);
    const bobSandbox = await bob.create({ timeoutSeconds: 600 });
    expect(bobSandbox.info.owner).toEqual({ tenant: 'beta', key: 'bob' });
    const info = await fetch(`${server.url}/api/v1/sandboxes/${aliceBox.id}`, {
      headers: { 'x-api-key': bobKey },
    });
    expect(await info.json()).toEqual({ error: 'sandbox not found', code: 'SANDBOX_NOT_FOUND' });
    // Streaming as Bob on Alice's id (the key as a subprotocol, as browsers send it): SANDBOX_NOT_FOUND.
    const ws = new WebSocket(
      `${server.url.replace('http', 'ws')}/api/v1/sandboxes/${aliceBox.id}/exec/stream`,
      ['burrow.v1', `burrow.key.${Buffer.from(bobKey).toString('base64url')}`],
    );
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ cmd: ['cat', '/tmp/notes.txt'] })));
      ws.on('message', (data) => messages.push(String(data)));
      ws.on('close', () => resolve());
      ws.on('error', reject);
    });
    expect(messages.join('\n')).toContain('SANDBOX_NOT_FOUND');
    expect(messages.join('\n')).not.toContain('sekrit');
    await bobSandbox.destroy();
  });

  it("are an admin key's to see and use (the config file's keys, as in Den)", async () => {
    expect((await admin.list()).map((sandbox) => sandbox.id)).toContain(aliceBox.id);
    const viaAdmin = await admin.get(aliceBox.id);
    expect((await viaAdmin.commands.run(['true'])).exitCode).toBe(0);
  });
});

describe("Den's SDK", () => {
  it('works with the admin key and with a tenant key on its own sandboxes', async () => {
    for (const key of [ADMIN_KEY, aliceKey]) {
      const den = new Den({ url: server.url, apiKey: key });
      const sandbox = await den.sandbox.create({ timeout: 600 });
      try {
        expect((await sandbox.exec(['echo', 'den'])).stdout).toBe('den\n');
        expect((await den.sandbox.list()).map((item) => item.id)).toContain(sandbox.id);
      } finally {
        await den.sandbox.destroy(sandbox.id);
      }
    }
    const denAsBob = new Den({ url: server.url, apiKey: bobKey });
    const error = await denAsBob.sandbox.get(aliceBox.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DenError);
    expect((error as DenError).statusCode).toBe(404);
  });
});

describe('MCP over HTTP', () => {
  it("acts with the caller's key: a tenant's tools see its own sandboxes only", async () => {
    const asBob = await mcpClient(bobKey);
    try {
      const listed = await tool(asBob, 'list_sandboxes', {});
      expect(listed.text).not.toContain(aliceBox.id);
      const exec = await tool(asBob, 'exec', { sandbox_id: aliceBox.id, cmd: ['cat', '/tmp/notes.txt'] });
      expect(exec.isError).toBe(true);
      expect(exec.text).toMatch(/not found/);
      expect(exec.text).not.toContain('sekrit');
    } finally {
      await asBob.close();
    }
    const asAlice = await mcpClient(aliceKey);
    try {
      const exec = await tool(asAlice, 'exec', { sandbox_id: aliceBox.id, cmd: ['echo', 'mcp'] });
      expect(exec).toMatchObject({ isError: false });
      expect(exec.text).toContain('mcp');
    } finally {
      await asAlice.close();
    }
  });
});

describe('quotas', () => {
  it('refuse past the tenant quota with 429 naming it and the use, and recover when use drops', async () => {
    const second = await alice.create({ timeoutSeconds: 600 });
    const refused = await alice.create({ timeoutSeconds: 600 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RateLimitError);
    expect(refused).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      status: 429,
      details: { quota: 'sandboxes', tenant: 'alpha', limit: 2, used: 2 },
    });
    // Bob's tenant has no quota of its own; the admin none at all.
    const bobs = await bob.create({ timeoutSeconds: 600 });
    await bobs.destroy();
    await second.stop();
    const third = await alice.create({ timeoutSeconds: 600 });
    await third.destroy();
    await second.destroy();

    const snapshot = await aliceBox.snapshots.create('one');
    const noMore = await aliceBox.snapshots.create('two').catch((error: unknown) => error);
    expect(noMore).toMatchObject({ code: 'QUOTA_EXCEEDED', details: { quota: 'snapshots', used: 1 } });
    await alice.snapshots.delete(snapshot.id);
    await alice.snapshots.delete((await aliceBox.snapshots.create('two')).id);
  });

  it('are reported per tenant: all tenants to an admin, its own to a tenant', async () => {
    const own = await alice.resources();
    expect(own.tenants?.map((entry) => entry.tenant)).toEqual(['alpha']);
    expect(own.tenants?.[0]).toMatchObject({ sandboxes: 1, quota: { sandboxes: 2, snapshots: 1 } });
    expect(own.sandboxes.total).toBe(1);
    const all = await admin.resources();
    expect(all.tenants?.map((entry) => entry.tenant)).toEqual(['alpha', 'beta']);
    // Per-tenant series, for an admin key; a tenant key gets 403.
    const metrics = await fetch(`${server.url}/metrics`, { headers: { 'x-api-key': ADMIN_KEY } });
    const text = await metrics.text();
    expect(text).toMatch(/^burrow_tenant_sandboxes\{tenant="alpha"\} 1$/m);
    expect(text).toMatch(/^burrow_tenant_quota\{tenant="alpha",quota="sandboxes"\} 2$/m);
    const refused = await fetch(`${server.url}/metrics`, { headers: { 'x-api-key': aliceKey } });
    expect(refused.status).toBe(403);
  });
});

describe('keys managed without a restart', () => {
  it('a key revoked with burrow keys revoke fails on its next request', async () => {
    const carol = (await burrow('keys', 'create', '--name', 'carol')).stdout.trim();
    const asCarol = new Burrow({ url: server.url, apiKey: carol });
    expect(await asCarol.list()).toEqual([]);
    expect((await burrow('keys', 'ls')).stdout).toMatch(
      /carol\s+carol\s+tenant\s+bk_\S+…\s+\S+ ago\s+(never|\S+ ago)\s+never\s+active/,
    );
    await burrow('keys', 'revoke', 'carol');
    const refused = await asCarol.list().catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
  });
});

describe('the audit log', () => {
  it('holds who did what to which sandbox, from where, and no secret', async () => {
    const { stdout } = await burrow('audit', '--sandbox', aliceBox.id, '--json', '--limit', '1000');
    const entries = (JSON.parse(stdout) as Array<Record<string, unknown>>).reverse();
    const mine = entries.filter((entry) => entry.key_name === 'alice');
    expect(
      mine.map((entry) => entry.action),
      JSON.stringify(entries),
    ).toEqual(
      expect.arrayContaining(['sandbox.create', 'exec', 'exec.stream', 'file.write', 'snapshot.create']),
    );
    expect(mine.find((entry) => entry.action === 'exec')).toMatchObject({
      tenant: 'alpha',
      outcome: 'ok',
      address: '127.0.0.1',
      detail: { argv: ['sh', '-c', 'cat >/dev/null; echo "$TOKEN" | wc -c'] },
    });
    expect(mine.find((entry) => entry.action === 'file.write')?.detail).toEqual({ path: '/tmp/notes.txt' });
    // The admin's exec on it, under the config key's name (never the key).
    expect(entries.filter((entry) => /^config:[0-9a-f]{8}$/.test(String(entry.key_name)))).not.toEqual([]);
    const keyChanges = JSON.parse(
      (await burrow('audit', '--action', 'key.revoke', '--json')).stdout,
    ) as unknown[];
    expect(keyChanges).toHaveLength(1);

    // The table itself, every column of every row: no secret value, no key.
    const db = new Database(join(server.dataDir, 'burrow.db'), { readonly: true });
    try {
      const rows = JSON.stringify(db.prepare('SELECT * FROM audit').all());
      for (const secret of [...SECRETS, aliceKey, bobKey, ADMIN_KEY]) expect(rows).not.toContain(secret);
      const keys = JSON.stringify(db.prepare('SELECT * FROM api_keys').all());
      for (const key of [aliceKey, bobKey]) expect(keys).not.toContain(key);
    } finally {
      db.close();
    }
  });
});
