/**
 * A background process belongs to its sandbox, not to the server: a web server started in one request keeps
 * serving while its client goes away and while `burrow serve` is stopped (SIGTERM, without --destroy-on-exit) and
 * started again on the same data directory; the restarted server lists it, replays its output and attaches to it,
 * as soon as the sandbox's agent has reconnected.
 */
import { rm } from 'node:fs/promises';
import { afterEach, expect, it } from 'vitest';
import { Burrow, type Sandbox } from '@burrow/sdk';
import { removeInstance, spawnServer, type ChildServer } from '../support/child-server.js';
import { makeDataDir } from '../support/server.js';

let servers: ChildServer[] = [];
let dataDir: string | undefined;
afterEach(async () => {
  for (const server of servers) {
    if (server.process.exitCode === null && server.process.signalCode === null)
      server.process.kill('SIGKILL');
    await server.exited;
    await removeInstance(server.instance);
  }
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  servers = [];
  dataDir = undefined;
});

async function start(dir: string): Promise<ChildServer> {
  const server = await spawnServer({ dataDir: dir });
  servers.push(server);
  return server;
}

/** Asks the web server in the sandbox for a page, from inside the sandbox; retries while it starts. */
async function request(sandbox: Sandbox, path: string): Promise<void> {
  const script = `import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8000${path}").status)`;
  for (let attempt = 0; ; attempt += 1) {
    const result = await sandbox.commands.run(['python3', '-c', script]);
    if (result.stdout === '200\n') return;
    if (attempt > 100) throw new Error(`the web server does not answer: ${result.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The process's output once it contains `pattern` (the log may lag the request by a moment). */
async function outputMatching(sandbox: Sandbox, processId: string, pattern: RegExp) {
  for (let attempt = 0; ; attempt += 1) {
    const output = await sandbox.processes.output(processId);
    if (pattern.test(output.stderr)) return output;
    if (attempt > 50) throw new Error(`${String(pattern)} not in ${JSON.stringify(output)}`);
  }
}

it('keeps a background web server through a client reconnect and a server restart', async () => {
  dataDir = await makeDataDir();
  const first = await start(dataDir);
  const created = await new Burrow({ url: first.url }).create({ timeoutSeconds: 900 });
  const web = await created.processes.start(['python3', '-u', '-m', 'http.server', '8000'], { tag: 'web' });
  await request(created, '/?before-restart');

  // Another client, later: the process and its output are there.
  const again = await new Burrow({ url: first.url }).get(created.id);
  const before = await outputMatching(again, web.id, /"GET \/\?before-restart HTTP\/1\.1" 200/);
  expect(before.stdout).toMatch(/Serving HTTP on 0\.0\.0\.0 port 8000/);
  expect(before.process).toMatchObject({ running: true, tag: 'web' });

  // The server stops (sandboxes stay), and a new one starts on the same data directory.
  first.process.kill('SIGTERM');
  expect(await first.exited).toMatchObject({ code: 0 });
  const second = await start(dataDir);
  const startedAt = Date.now();
  const sandbox = await new Burrow({ url: second.url }).get(created.id);
  let listed;
  for (;;) {
    try {
      listed = await sandbox.processes.list();
      break;
    } catch (error) {
      if (Date.now() - startedAt > 10_000) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  const reconnectMs = Date.now() - startedAt;
  process.stderr.write(`agent reconnected to the restarted server after ${reconnectMs} ms\n`);
  expect(reconnectMs).toBeLessThan(3000);
  expect(listed.find((info) => info.id === web.id)).toMatchObject({ running: true, tag: 'web' });

  // It kept serving, and everything it printed is still there, before and after the restart.
  await request(sandbox, '/?after-restart');
  const after = await outputMatching(sandbox, web.id, /"GET \/\?after-restart HTTP\/1\.1" 200/);
  expect(after.stderr).toMatch(
    /"GET \/\?before-restart HTTP\/1\.1" 200[\s\S]*"GET \/\?after-restart HTTP\/1\.1" 200/,
  );
  const reader = await sandbox.processes.attach(web.id, { replay: true });
  await sandbox.processes.kill(web.id);
  let text = '';
  for await (const event of reader) if (event.type === 'stderr') text += event.data;
  expect(text).toContain('/?after-restart');
  expect(await reader.wait()).toMatchObject({ exitCode: 137 });
  await sandbox.destroy();
});
