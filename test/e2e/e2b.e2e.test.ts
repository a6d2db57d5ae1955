/**
 * E2B's published SDK against a real `burrow serve --e2b` on the real engine, used as an E2B user would: the export
 * lines the server prints go into the environment, then `e2b` creates sandboxes, runs commands, drives terminals,
 * moves files, lists and kills. The newest `e2b` runs everything; 2.14 (an older wire: /sandboxes, v1 connect)
 * runs the core of it.
 */
import { request as httpRequest } from 'node:http';
import { CommandExitError, FileType, FilesystemEventType, Sandbox, type FilesystemEvent } from 'e2b';
import { Sandbox as Sandbox214 } from 'e2b-2-14';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2bServer, type E2bServer } from '../support/e2b-server.js';

const KEY = 'e2e-e2b-key';
let e2b: E2bServer;
let sandbox: Sandbox;

beforeAll(async () => {
  e2b = await startE2bServer({ apiKey: KEY });
  e2b.useExports(KEY);
  sandbox = await Sandbox.create({
    metadata: { suite: 'e2b-e2e' },
    envs: { GREETING: 'hello' },
    timeoutMs: 600_000,
  });
});
afterAll(async () => {
  await sandbox?.kill().catch(() => undefined);
  await e2b?.close();
});

/** Text of a stream, decoded as it comes. */
function collector() {
  let text = '';
  return {
    push: (data: string | Uint8Array): void => {
      text += typeof data === 'string' ? data : Buffer.from(data).toString();
    },
    text: () => text,
  };
}

async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the ready line', () => {
  it('prints the two URLs and the key line, all on loopback', () => {
    expect(e2b.exports.E2B_API_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(e2b.exports.E2B_SANDBOX_URL).toBe(e2b.exports.E2B_API_URL);
    expect(e2b.exports.E2B_API_KEY).toBe('$BURROW_API_KEY');
  });
});

describe('commands', () => {
  it('runs a command: output, exit code, env, cwd and user', async () => {
    const result = await sandbox.commands.run('echo "$GREETING $EXTRA"; echo oops >&2; pwd', {
      envs: { EXTRA: 'world' },
      cwd: '/tmp',
    });
    expect(result).toMatchObject({ exitCode: 0, stdout: 'hello world\n/tmp\n', stderr: 'oops\n' });
    expect((await sandbox.commands.run('whoami', { user: 'root' })).stdout).toBe('root\n');
  });

  it('raises CommandExitError for a failing command, with its output', async () => {
    const failure = await sandbox.commands.run('echo partial; exit 7').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandExitError);
    expect(failure).toMatchObject({ exitCode: 7, stdout: 'partial\n', error: 'exit status 7' });
  });

  it('streams output to callbacks, runs in the background, waits and kills', async () => {
    const out = collector();
    const handle = await sandbox.commands.run('for i in 1 2 3; do echo line$i; sleep 0.1; done', {
      background: true,
      onStdout: out.push,
    });
    expect(handle.pid).toBeGreaterThan(0);
    expect((await handle.wait()).exitCode).toBe(0);
    expect(out.text()).toBe('line1\nline2\nline3\n');

    const sleeper = await sandbox.commands.run('sleep 60', { background: true });
    expect((await sandbox.commands.list()).map((process) => process.pid)).toContain(sleeper.pid);
    expect(await sleeper.kill()).toBe(true);
    await expect(sleeper.wait()).rejects.toBeInstanceOf(CommandExitError);
    expect(await sandbox.commands.kill(sleeper.pid)).toBe(false);
  });

  it('takes stdin and reconnects to a running command', async () => {
    const first = collector();
    const handle = await sandbox.commands.run(
      'for i in 1 2; do read line; echo "got $line"; done; echo done',
      {
        background: true,
        stdin: true,
        onStdout: first.push,
      },
    );
    await sandbox.commands.sendStdin(handle.pid, 'first\n');
    await until(() => first.text() === 'got first\n', 'the first line');
    const again = collector();
    const connected = await sandbox.commands.connect(handle.pid, { onStdout: again.push });
    await sandbox.commands.sendStdin(handle.pid, 'second\n');
    expect((await handle.wait()).stdout).toBe('got first\ngot second\ndone\n');
    await connected.wait();
    expect(again.text()).toBe('got second\ndone\n');
    await expect(sandbox.commands.sendStdin(handle.pid, 'late')).rejects.toThrow(/no running process/);
  });

  it("ends a command's input with closeStdin", async () => {
    const handle = await sandbox.commands.run('cat', { background: true, stdin: true });
    await sandbox.commands.sendStdin(handle.pid, 'all of it\n');
    await sandbox.commands.closeStdin(handle.pid);
    expect((await handle.wait()).stdout).toBe('all of it\n');
  });

  it('kills a command when its timeoutMs passes', async () => {
    const started = Date.now();
    await expect(sandbox.commands.run('sleep 30', { timeoutMs: 1500 })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(15_000);
    await until(
      async () => !(await sandbox.commands.list()).some((process) => process.cmd.includes('sleep 30')),
      'the sleep to be gone',
    );
  });
});

describe('terminals', () => {
  it('creates a PTY, types into it, resizes it and kills it', async () => {
    const screen = collector();
    const terminal = await sandbox.pty.create({ cols: 80, rows: 24, onData: screen.push, timeoutMs: 60_000 });
    await sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode('stty size; echo pty-$((6*7))\n'));
    await until(
      () => screen.text().includes('24 80') && screen.text().includes('pty-42'),
      'the terminal output',
    );
    await sandbox.pty.resize(terminal.pid, { cols: 100, rows: 30 });
    await sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode('stty size\n'));
    await until(() => screen.text().includes('30 100'), 'the new size');
    // A second client on the same terminal sees what it prints from now on.
    const second = collector();
    const attached = await sandbox.pty.connect(terminal.pid, { onData: second.push });
    await sandbox.pty.sendInput(terminal.pid, new TextEncoder().encode('echo again-$((6*7))\n'));
    await until(() => second.text().includes('again-42'), 'the connected terminal output');
    await attached.disconnect();
    expect(await sandbox.pty.kill(terminal.pid)).toBe(true);
    await expect(terminal.wait()).rejects.toBeInstanceOf(CommandExitError);
  });
});

describe('files', () => {
  it('writes one and many, reads text and bytes, lists, checks, makes, renames and removes', async () => {
    const written = await sandbox.files.write('/tmp/e2e/one.txt', 'first file');
    expect(written).toMatchObject({ name: 'one.txt', path: '/tmp/e2e/one.txt' });
    const many = await sandbox.files.write([
      { path: '/tmp/e2e/two.txt', data: 'second' },
      { path: '/tmp/e2e/sub/bytes.bin', data: new Uint8Array([0, 1, 2, 254, 255]).buffer },
    ]);
    expect(many.map((entry) => entry.path)).toEqual(['/tmp/e2e/two.txt', '/tmp/e2e/sub/bytes.bin']);
    expect(await sandbox.files.read('/tmp/e2e/one.txt')).toBe('first file');
    expect([...(await sandbox.files.read('/tmp/e2e/sub/bytes.bin', { format: 'bytes' }))]).toEqual([
      0, 1, 2, 254, 255,
    ]);
    expect(await (await sandbox.files.read('/tmp/e2e/one.txt', { format: 'blob' })).text()).toBe(
      'first file',
    );
    const stream = await sandbox.files.read('/tmp/e2e/one.txt', { format: 'stream' });
    expect(await new Response(stream).text()).toBe('first file');

    const listed = await sandbox.files.list('/tmp/e2e');
    expect(listed.map((entry) => [entry.name, entry.type]).sort()).toEqual([
      ['one.txt', FileType.FILE],
      ['sub', FileType.DIR],
      ['two.txt', FileType.FILE],
    ]);
    expect((await sandbox.files.list('/tmp/e2e', { depth: 2 })).map((entry) => entry.path)).toContain(
      '/tmp/e2e/sub/bytes.bin',
    );
    expect(await sandbox.files.exists('/tmp/e2e/one.txt')).toBe(true);
    expect(await sandbox.files.exists('/tmp/e2e/none')).toBe(false);
    const info = await sandbox.files.getInfo('/tmp/e2e/one.txt');
    expect(info).toMatchObject({ type: FileType.FILE, size: 10 });

    expect(await sandbox.files.makeDir('/tmp/e2e/made/deep')).toBe(true);
    expect(await sandbox.files.makeDir('/tmp/e2e/made/deep')).toBe(false);
    const renamed = await sandbox.files.rename('/tmp/e2e/two.txt', '/tmp/e2e/made/renamed.txt');
    expect(renamed).toMatchObject({ name: 'renamed.txt', path: '/tmp/e2e/made/renamed.txt' });
    expect(await sandbox.files.read('/tmp/e2e/made/renamed.txt')).toBe('second');
    await sandbox.files.remove('/tmp/e2e/made');
    expect(await sandbox.files.exists('/tmp/e2e/made')).toBe(false);
    await expect(sandbox.files.read('/tmp/e2e/none')).rejects.toThrow();
  });

  it('watches a directory, recursively', async () => {
    await sandbox.files.makeDir('/tmp/watched/inner');
    const events: FilesystemEvent[] = [];
    const handle = await sandbox.files.watchDir('/tmp/watched', (event) => void events.push(event), {
      recursive: true,
    });
    try {
      await sandbox.files.write('/tmp/watched/a.txt', 'a');
      await sandbox.files.write('/tmp/watched/inner/b.txt', 'b');
      await until(
        () =>
          events.some((event) => event.name === 'a.txt' && event.type === FilesystemEventType.CREATE) &&
          events.some((event) => event.name === 'inner/b.txt'),
        'the watch events',
      );
    } finally {
      await handle.stop();
    }
  });

  it('uses signed upload and download URLs', async () => {
    const upload = await sandbox.uploadUrl('/tmp/signed.txt');
    const form = new FormData();
    form.append('file', new Blob(['via url']), '/tmp/signed.txt');
    expect((await fetch(upload, { method: 'POST', body: form })).status).toBe(200);
    const download = await sandbox.downloadUrl('/tmp/signed.txt');
    expect(await (await fetch(download)).text()).toBe('via url');
    expect((await fetch(download.replace(/signature=[^&]+/, 'signature=v1_forged'))).status).toBe(401);
  });
});

describe('sandboxes', () => {
  it('gets info, sets the timeout, connects and checks it runs', async () => {
    const info = await sandbox.getInfo();
    expect(info).toMatchObject({
      sandboxId: sandbox.sandboxId,
      templateId: 'base',
      metadata: { suite: 'e2b-e2e' },
      state: 'running',
    });
    await sandbox.setTimeout(1_200_000);
    expect((await sandbox.getInfo()).endAt.getTime()).toBeGreaterThan(Date.now() + 1_100_000);
    const same = await Sandbox.connect(sandbox.sandboxId);
    expect((await same.commands.run('echo $GREETING')).stdout).toBe('hello\n');
    expect(await same.isRunning()).toBe(true);
    expect((await sandbox.getMetrics()).length).toBe(1);
  });

  it('lists with metadata and pages; kill is true, then false', async () => {
    const tag = `list-${Date.now()}`;
    const made = [
      await Sandbox.create({ metadata: { tag } }),
      await Sandbox.create({ metadata: { tag } }),
      await Sandbox.create({ metadata: { tag } }),
    ];
    try {
      const paginator = Sandbox.list({ query: { metadata: { tag } }, limit: 2 });
      const first = await paginator.nextItems();
      expect(first).toHaveLength(2);
      expect(paginator.hasNext).toBe(true);
      const second = await paginator.nextItems();
      expect(paginator.hasNext).toBe(false);
      expect([...first, ...second].map((item) => item.sandboxId).sort()).toEqual(
        made.map((item) => item.sandboxId).sort(),
      );
      expect(first[0]?.metadata).toEqual({ tag });
    } finally {
      for (const item of made) {
        expect(await item.kill()).toBe(true);
        expect(await Sandbox.kill(item.sandboxId)).toBe(false);
      }
    }
    expect(await Sandbox.list({ query: { metadata: { tag } } }).nextItems()).toEqual([]);
  });

  it('pauses and resumes: memory and files kept, connect resumes, a second pause is false', async () => {
    const kept = await Sandbox.create();
    try {
      await kept.commands.run('echo on-disk > /tmp/kept.txt');
      const counter = await kept.commands.run(
        'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done',
        {
          background: true,
          timeoutMs: 0,
        },
      );
      // The loop writes its first count a moment after it starts: until then the file is not there.
      await until(
        async () => Number(await kept.files.read('/tmp/count').catch(() => '0')) > 2,
        'the counter to run',
      );
      expect(await kept.pause()).toBe(true);
      expect(await kept.pause()).toBe(false);
      expect((await kept.getInfo()).state).toBe('paused');
      expect(await kept.isRunning()).toBe(false);
      expect(
        (await Sandbox.list({ query: { state: ['paused'] } }).nextItems()).map((item) => item.sandboxId),
      ).toContain(kept.sandboxId);
      const resumed = await Sandbox.connect(kept.sandboxId);
      expect((await resumed.getInfo()).state).toBe('running');
      expect(await resumed.files.read('/tmp/kept.txt')).toBe('on-disk\n');
      // The loop was frozen, not restarted: its count goes on from where it was.
      const before = Number(await resumed.files.read('/tmp/count'));
      await until(
        async () => Number(await resumed.files.read('/tmp/count')) > before,
        'the counter to go on',
      );
      expect((await resumed.commands.list()).map((process) => process.pid)).toContain(counter.pid);
    } finally {
      await kept.kill();
    }
  });

  it('takes the e2b_<hex> form of the key', async () => {
    const hexKey = `e2b_${Buffer.from(KEY).toString('hex')}`;
    expect((await Sandbox.getInfo(sandbox.sandboxId, { apiKey: hexKey })).sandboxId).toBe(sandbox.sandboxId);
    await expect(Sandbox.getInfo(sandbox.sandboxId, { apiKey: 'e2b_00' })).rejects.toThrow(/invalid API key/);
  });

  it('routes getHost() URLs to the port proxy, with the traffic token auth asks for', async () => {
    const host = sandbox.getHost(8000);
    const url = new URL(e2b.exports.E2B_API_URL ?? '');
    expect(host).toBe(`8000-${sandbox.sandboxId}.localhost:${url.port}`);
    const fetchHost = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const outgoing = httpRequest(
          { host: url.hostname, port: url.port, path: '/', headers: { host, ...headers } },
          (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
          },
        );
        outgoing.on('error', reject);
        outgoing.end();
      });
    // Auth is on, so the sandbox's ports are not public: the SDK got a traffic token.
    expect(sandbox.trafficAccessToken).toMatch(/^[0-9a-f]{64}$/);
    expect((await fetchHost({})).status).toBe(403);
    const token = { 'e2b-traffic-access-token': sandbox.trafficAccessToken ?? '' };
    // Nothing listens yet: Burrow's preview proxy says so.
    const silent = await fetchHost(token);
    expect(silent.status).toBe(502);
    expect(silent.body).toMatch(/nothing listens on port 8000/);
    await sandbox.commands.run(
      'cd /tmp && echo "from port 8000" > index.html && exec python3 -m http.server 8000',
      { background: true },
    );
    let answer = await fetchHost(token);
    for (let tries = 0; answer.status !== 200 && tries < 100; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answer = await fetchHost(token);
    }
    expect(answer).toEqual({ status: 200, body: 'from port 8000\n' });
  });
});

describe('e2b 2.14', () => {
  it('creates, runs, moves files, lists, connects and kills over the older wire', async () => {
    const old = await Sandbox214.create({ metadata: { sdk: '2.14' } });
    try {
      expect((await old.commands.run('echo from 2.14')).stdout).toBe('from 2.14\n');
      await old.files.write('/tmp/old.txt', 'old sdk');
      expect(await old.files.read('/tmp/old.txt')).toBe('old sdk');
      const listed = await Sandbox214.list({ query: { metadata: { sdk: '2.14' } } }).nextItems();
      expect(listed.map((item) => item.sandboxId)).toEqual([old.sandboxId]);
      const again = await Sandbox214.connect(old.sandboxId);
      expect((await again.commands.run('cat /tmp/old.txt')).stdout).toBe('old sdk');
    } finally {
      await old.kill();
    }
    expect(await Sandbox214.kill(old.sandboxId)).toBe(false);
  });
});
