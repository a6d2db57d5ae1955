/** The built `burrow` binary against a real server: output, --json, streaming, cp, exit codes. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startTestServer, TEST_IMAGE, type TestServer } from '../../../test/support/server.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let server: TestServer;
let local: string;

/** Runs the CLI; `input` is piped to stdin (stdin is closed otherwise). */
function burrow(
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, BURROW_URL: server.url, BURROW_API_KEY: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

async function ok(args: string[], options?: { input?: string }): Promise<string> {
  const result = await burrow(args, options);
  if (result.code !== 0) throw new Error(`burrow ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  server = await startTestServer();
  local = await mkdtemp(join(tmpdir(), 'burrow-cli-e2e-'));
});
afterAll(async () => {
  await server?.close();
  await rm(local, { recursive: true, force: true });
});

describe('burrow CLI', () => {
  let id = '';

  it('creates a sandbox and prints its id', async () => {
    id = (
      await ok([
        'create',
        '--timeout',
        '20m',
        '--memory',
        '256m',
        '--cpu',
        '1',
        '--env',
        'A=1',
        '--label',
        'suite=cli',
      ])
    ).trim();
    expect(id).toMatch(/^[a-z0-9]+$/);
  });

  it('lists sandboxes as a table and as JSON', async () => {
    const table = await ok(['ls']);
    expect(table.split('\n')[0]).toMatch(/^ID\s+IMAGE\s+STATUS\s+AGE\s+EXPIRES$/);
    expect(table).toContain(id);
    const list = JSON.parse(await ok(['ls', '--json'])) as {
      id: string;
      image: string;
      labels?: Record<string, string>;
    }[];
    expect(list.find((item) => item.id === id)).toMatchObject({
      image: TEST_IMAGE,
      labels: { suite: 'cli' },
    });
    expect((await ok(['ls', '-q'])).split('\n')).toContain(id);
  });

  it('shows one sandbox', async () => {
    expect(JSON.parse(await ok(['info', id, '--json']))).toMatchObject({ id, status: 'running' });
    expect(await ok(['info', id])).toContain(`ID:        ${id}`);
  });

  it('exec streams output, keeps stderr apart and exits with the remote code', async () => {
    expect(await burrow(['exec', id, '--', 'sh', '-c', 'echo out; echo err >&2; exit 7'])).toEqual({
      code: 7,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    expect(
      (await burrow(['exec', '--env', 'B=2', '--workdir', '/tmp', id, '--', 'sh', '-c', 'echo $A$B $(pwd)']))
        .stdout,
    ).toBe('12 /tmp\n');
    expect(await burrow(['exec', '-i', id, '--', 'cat'], { input: 'piped\n' })).toMatchObject({
      code: 0,
      stdout: 'piped\n',
    });
  });

  it('exec shows output while the command still runs', async () => {
    // The command waits for a file that the test writes only once "first" was printed: output held back until
    // the end would never appear, and the command would run into its timeout. No clock involved.
    const go = `/tmp/go-${randomBytes(4).toString('hex')}`;
    const child = spawn(
      process.execPath,
      [
        BIN,
        'exec',
        '--timeout',
        '60',
        id,
        '--',
        'sh',
        '-c',
        `echo first; while [ ! -e ${go} ]; do sleep 0.1; done; echo second`,
      ],
      { env: { ...process.env, BURROW_URL: server.url } },
    );
    let stdout = '';
    let released = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!released && stdout.includes('first')) {
        released = true;
        void burrow(['exec', id, '--', 'touch', go]);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'first\nsecond\n' });
  });

  it('Ctrl-C interrupts the remote command; a second one gives up with 130', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'exec', id, '--', 'sh', '-c', 'trap "" INT; echo ready; sleep 60'],
      {
        env: { ...process.env, BURROW_URL: server.url },
      },
    );
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()),
    );
    child.kill('SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(child.exitCode).toBeNull(); // the remote shell ignores SIGINT, so the CLI waits
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(130);
  });

  it('runs a line-mode shell that keeps the working directory', async () => {
    const result = await burrow(['shell', id], {
      input: 'cd /tmp\npwd\nmkdir -p sub && cd sub\npwd\nexit 3\n',
    });
    expect(result.stdout).toBe('/tmp\n/tmp/sub\n');
    expect(result.code).toBe(3);
  });

  it('copies a directory tree in and back out', async () => {
    const source = join(local, 'tree');
    await mkdir(join(source, 'nested', 'deeper'), { recursive: true });
    await mkdir(join(source, 'empty'));
    await writeFile(join(source, 'a.txt'), 'alpha\n');
    await writeFile(join(source, 'nested', 'b.bin'), randomBytes(3 * 1024 * 1024));
    await writeFile(join(source, 'nested', 'deeper', 'c.txt'), 'gamma\n');
    await ok(['cp', source, `${id}:/home/sandbox/`]);
    expect(
      (await ok(['exec', id, '--', 'sh', '-c', 'cd /home/sandbox/tree && find . | sort'])).split('\n'),
    ).toEqual(expect.arrayContaining(['./a.txt', './empty', './nested/b.bin', './nested/deeper/c.txt']));
    const back = join(local, 'back');
    await ok(['cp', `${id}:/home/sandbox/tree`, back]);
    expect(await readFile(join(back, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(
      (await readFile(join(back, 'nested', 'b.bin'))).equals(await readFile(join(source, 'nested', 'b.bin'))),
    ).toBe(true);
    expect(await readFile(join(back, 'nested', 'deeper', 'c.txt'), 'utf8')).toBe('gamma\n');
    expect((await stat(join(back, 'empty'))).isDirectory()).toBe(true);
    await ok(['cp', `${id}:/home/sandbox/tree/a.txt`, local]);
    expect(await readdir(local)).toContain('a.txt');
  });

  it('reports stats, sets the timeout, stops and starts', async () => {
    const stats = JSON.parse(await ok(['stats', id, '--json'])) as Record<string, number>;
    expect(stats.pid_count).toBeGreaterThan(0);
    expect(await ok(['stats', id])).toContain('Memory:');
    expect(await ok(['timeout', id, '2h'])).toContain('expires at');
    expect(await ok(['stop', id])).toBe(`${id}\n`);
    expect(JSON.parse(await ok(['info', id, '--json']))).toMatchObject({ status: 'stopped' });
    expect(await ok(['start', id])).toBe(`${id}\n`);
  });

  it('creates, lists, restores and removes snapshots', async () => {
    await ok(['exec', id, '--', 'sh', '-c', 'echo saved > /home/sandbox/mark']);
    const snap = (await ok(['snapshot', 'create', id, '--name', 'cli'])).trim();
    expect(snap).toMatch(/^snap-/);
    expect(JSON.parse(await ok(['snapshot', 'ls', id, '--json']))).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: snap, name: 'cli' })]),
    );
    const restored = (await ok(['snapshot', 'restore', snap])).trim();
    expect(await ok(['exec', restored, '--', 'cat', '/home/sandbox/mark'])).toBe('saved\n');
    expect(await ok(['rm', restored])).toBe(`${restored}\n`);
    expect(await ok(['snapshot', 'rm', snap])).toBe(`${snap}\n`);
  });

  it('prints client and server versions', async () => {
    const out = await ok(['version']);
    expect(out).toMatch(/^client: burrow \d+\.\d+\.\d+\nserver: burrow \d+\.\d+\.\d+/);
  });

  it('uses exit codes scripts can rely on', async () => {
    expect(await burrow(['info', 'doesnotexist0000000'])).toMatchObject({
      code: 3,
      stderr: 'burrow: sandbox not found\n',
    });
    const unreachable = await burrow(['ls'], { env: { BURROW_URL: `http://127.0.0.1:${await freePort()}` } });
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(
      /^burrow: cannot reach the Burrow server at .* is `burrow serve` running\?\n$/,
    );
    expect((await burrow(['create', '--network', 'bogus'])).code).toBe(2);
    expect((await burrow(['exec'])).code).toBe(2);
    expect((await burrow(['rm'])).code).toBe(2);
    expect((await burrow(['cp', 'a', 'b'])).code).toBe(2);
    expect((await burrow(['--server', `http://127.0.0.1:${await freePort()}`, 'ls'])).code).toBe(4);
  });

  it('has --help with examples for every verb', async () => {
    for (const verb of [
      'create',
      'ls',
      'info',
      'exec',
      'shell',
      'cp',
      'stop',
      'start',
      'rm',
      'snapshot',
      'stats',
      'timeout',
      'version',
      'mcp',
    ]) {
      const help = await burrow([verb, '--help']);
      expect(help.code, verb).toBe(0);
      expect(help.stdout, verb).toContain('Example');
    }
  });

  it('removes sandboxes, one or all', async () => {
    const other = (await ok(['create'])).trim();
    expect(await ok(['rm', '--all'])).toEqual(expect.stringContaining(other));
    expect(JSON.parse(await ok(['ls', '--json']))).toEqual([]);
  });
});
