/**
 * Terminals, background processes and file watching through a real server on the real engine (Debian test image,
 * the agent's socket): `python3 -i` driven through a terminal, a background process read back from a second client,
 * and watch events in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burrow, ConflictError, ProcessNotFoundError, type Sandbox, type WatchEvent } from '@burrow/sdk';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

let server: TestServer;
let burrow: Burrow;
let sandbox: Sandbox;

beforeAll(async () => {
  server = await startTestServer();
  burrow = new Burrow({ url: server.url });
  sandbox = await burrow.create({ timeoutSeconds: 900 });
});
afterAll(async () => {
  await sandbox?.destroy().catch(() => undefined);
  await server?.close();
});

/** Waits until `check()` holds, polling; fails with what was seen. */
async function eventually(check: () => boolean, describe: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out; saw:\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('python3 -i on a terminal', () => {
  it('shows the prompt, runs input, takes Ctrl-C as KeyboardInterrupt and follows a resize', async () => {
    let screen = '';
    const term = await sandbox.pty.create({
      cmd: ['python3', '-i', '-q'],
      cols: 80,
      rows: 24,
      onData: (bytes) => (screen += Buffer.from(bytes).toString('utf8')),
    });
    const seen = () => screen;
    const after = (mark: number, pattern: RegExp) => eventually(() => pattern.test(screen.slice(mark)), seen);

    await after(0, />>> $/);
    let mark = screen.length;
    term.write('print(6 * 7)\r');
    await after(mark, /42\r\n>>> $/);

    mark = screen.length;
    term.write('import time; time.sleep(60)\r');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const interrupted = Date.now();
    term.write('\x03');
    await after(mark, /KeyboardInterrupt\r\n>>> $/);
    expect(Date.now() - interrupted).toBeLessThan(5000);

    mark = screen.length;
    term.write('import os, subprocess; print(os.get_terminal_size())\r');
    await after(mark, /columns=80, lines=24/);
    term.resize({ cols: 132, rows: 43 });
    mark = screen.length;
    term.write('print(os.get_terminal_size()); r = subprocess.run(["stty", "size"])\r');
    // readline may redraw its prompt once more for the resize (">>> \x1b[K>>> "), depending on when the signal lands.
    await after(mark, /columns=132, lines=43\)\r\n43 132\r\n(>>> \S\[K)?>>> $/);

    term.write('exit()\r');
    expect(await term.wait()).toEqual({ exitCode: 0, timedOut: false });
  });
});

describe('background processes', () => {
  it('serves HTTP in the background; another client reads its output, sends input, and kills it', async () => {
    const web = await sandbox.processes.start(['python3', '-u', '-m', 'http.server', '8000'], { tag: 'web' });
    expect(web).toMatchObject({ running: true, tag: 'web' });
    const other = await new Burrow({ url: server.url }).get(sandbox.id);
    // The server answers a request from inside the sandbox, and logs it.
    for (let attempt = 0; ; attempt += 1) {
      const fetched = await other.commands.run([
        'python3',
        '-c',
        'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8000/").status)',
      ]);
      if (fetched.stdout === '200\n') break;
      if (attempt > 50) throw new Error(`the HTTP server never answered: ${fetched.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let output = await other.processes.output(web.id);
    for (let attempt = 0; !/"GET \/ HTTP\/1\.1" 200/.test(output.stderr); attempt += 1) {
      if (attempt > 50) throw new Error(`no request in the log: ${JSON.stringify(output)}`);
      output = await other.processes.output(web.id);
    }
    expect(output.stdout).toMatch(/Serving HTTP on 0\.0\.0\.0 port 8000/);
    expect(output.process).toMatchObject({ id: web.id, running: true });
    // It has no stdin and no terminal: input and resizes are conflicts, with a message that says why.
    const noInput = await other.processes.sendInput(web.id, 'x').catch((error: unknown) => error);
    expect(noInput).toBeInstanceOf(ConflictError);
    expect((noInput as Error).message).toMatch(/stdin/);
    const noResize = await other.processes
      .resize(web.id, { cols: 80, rows: 24 })
      .catch((error: unknown) => error);
    expect(noResize).toBeInstanceOf(ConflictError);
    expect((noResize as Error).message).toMatch(/terminal/);

    // A reader attaching later replays it; a second reader at the same time sees the same end.
    const a = await other.processes.attach(web.id, { replay: true });
    const b = await sandbox.processes.attach(web.id);
    expect((await other.processes.kill(web.id)).exitCode).toBe(137);
    const events = [];
    for await (const event of a) events.push(event);
    expect(events.at(-1)).toEqual({ type: 'exit', exitCode: 137, timedOut: false });
    expect(
      events
        .filter((event) => event.type === 'stdout')
        .map((event) => event.data)
        .join(''),
    ).toMatch(/Serving HTTP/);
    expect(await b.wait()).toMatchObject({ exitCode: 137 });

    const repl = await sandbox.processes.start(
      ['python3', '-u', '-c', 'import sys\nfor line in sys.stdin: print(line.upper(), end="")'],
      {
        stdin: true,
      },
    );
    await other.processes.sendInput(repl.id, 'hello\n');
    await other.processes.sendInput(repl.id, 'world\n', { eof: true });
    expect(await other.processes.wait(repl.id, { timeoutMs: 20_000 })).toMatchObject({ exitCode: 0 });
    expect((await other.processes.output(repl.id)).stdout).toBe('HELLO\nWORLD\n');
    await expect(other.processes.get('proc_00000000')).rejects.toBeInstanceOf(ProcessNotFoundError);
  });
});

describe('file watching', () => {
  it('reports create, modify, rename and delete in order', async () => {
    await sandbox.files.mkdir('/home/sandbox/watched');
    const events: WatchEvent[] = [];
    const watch = await sandbox.files.watch('/home/sandbox/watched', {
      recursive: true,
      onEvent: (event) => events.push(event),
    });
    const run = async (script: string) => {
      const result = await sandbox.commands.run(['sh', '-c', script], { cwd: '/home/sandbox/watched' });
      expect(result.stderr).toBe('');
    };
    await run('echo one > a.txt');
    await run('echo two >> a.txt');
    await run('mv a.txt b.txt');
    await run('mkdir sub && echo three > sub/c.txt');
    await run('rm b.txt');
    const lines = () =>
      events.map((event) => (event.type === 'event' ? `${event.kind} ${event.path}` : 'overflow'));
    await eventually(
      () => lines().includes('remove /home/sandbox/watched/b.txt'),
      () => lines().join('\n'),
    );
    // inotify may report a write as several events; the order of the kinds that matter is fixed.
    const significant = lines().filter(
      (line, index, all) => !line.startsWith('write') || all.indexOf(line) === index,
    );
    expect(significant.filter((line) => !line.startsWith('chmod'))).toEqual([
      'create /home/sandbox/watched/a.txt',
      'write /home/sandbox/watched/a.txt',
      'rename /home/sandbox/watched/a.txt',
      'create /home/sandbox/watched/b.txt',
      'create /home/sandbox/watched/sub',
      'create /home/sandbox/watched/sub/c.txt',
      'write /home/sandbox/watched/sub/c.txt',
      'remove /home/sandbox/watched/b.txt',
    ]);
    watch.close();
    await watch.done;
  });
});
