/** The CLI in-process against the SDK's fake API: parsing, output formats and exit codes (e2e: the real server). */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFakeApi, type FakeApi } from '../../sdk/src/test-support/fake-api.js';

// The server package is heavy (Docker, SQLite); client verbs must never load it.
vi.mock('@burrow/server', () => {
  throw new Error('a client verb loaded @burrow/server');
});
const { runCli } = await import('./cli.js');
const { CLI_VERSION } = await import('./version.js');

let api: FakeApi;
beforeAll(async () => {
  api = await startFakeApi();
});
afterAll(() => api.close());
afterEach(() => {
  process.exitCode = undefined;
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runCli(['node', 'burrow', '--server', api.url, ...args]);
    process.exitCode = undefined;
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('burrow (in-process)', () => {
  it('pauses, resumes and forks', async () => {
    const id = (await cli('create')).stdout.trim();
    expect(await cli('pause', id)).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    expect(api.sandboxes.get(id)?.status).toBe('paused');
    expect(await cli('resume', id)).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
    const forked = await cli('fork', id, '-n', '2');
    expect(forked.code).toBe(0);
    const copies = forked.stdout.trim().split('\n');
    expect(copies).toHaveLength(2);
    for (const copy of copies) expect(api.sandboxes.get(copy)?.status).toBe('running');
    expect((await cli('fork', id, '-n', '0')).code).toBe(2);
    expect((await cli('pause', 'nope')).code).toBe(3);
    expect((await cli('rm', id, ...copies)).code).toBe(0);
  });

  it('creates, lists and shows sandboxes', async () => {
    const created = await cli('create', '--image', 'img', '--label', 'a=b', '--timeout', '10m');
    expect(created.code).toBe(0);
    const id = created.stdout.trim();
    const table = await cli('ls');
    expect(table.stdout).toMatch(
      new RegExp(`^ID\\s+IMAGE\\s+STATUS\\s+AGE\\s+EXPIRES\\n${id}\\s+img\\s+running\\s+\\d+s\\s+never\\n`),
    );
    expect(JSON.parse((await cli('ls', '--json')).stdout)).toEqual([
      expect.objectContaining({ id, image: 'img', labels: { a: 'b' } }),
    ]);
    expect(JSON.parse((await cli('info', id, '--json')).stdout)).toMatchObject({ id, ip: '10.0.0.2' });
    expect((await cli('info', id)).stdout).toContain('Labels:    a=b');
    expect(await cli('rm', id)).toEqual({ code: 0, stdout: `${id}\n`, stderr: '' });
  });

  it('exec streams and exits with the remote code', async () => {
    const id = (await cli('create')).stdout.trim();
    expect(await cli('exec', id, '--', 'echo', 'hi')).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
    expect(await cli('exec', id, '--', 'exit', '9')).toMatchObject({ code: 9 });
    expect(await cli('exec', id, '--', 'warn', 'careful')).toEqual({
      code: 0,
      stdout: '',
      stderr: 'careful\n',
    });
  });

  it('maps failures to exit codes with one-line messages', async () => {
    expect(await cli('info', 'nope')).toEqual({ code: 3, stdout: '', stderr: 'burrow: sandbox not found\n' });
    expect((await cli('rm')).code).toBe(2);
    expect((await cli('create', '--memory', 'lots')).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('cp', 'a', 'b')).stderr).toBe(
      'burrow: cp copies between this machine and a sandbox: exactly one side must be <id>:<path>\n',
    );
    const down = await runCli(['node', 'burrow', '--server', 'http://127.0.0.1:9', 'ls']).catch(() => -1);
    expect(down).toBe(4);
  });

  it('snapshots, stats, timeout and version', async () => {
    const id = (await cli('create')).stdout.trim();
    const snap = (await cli('snapshot', 'create', id, '--name', 'n')).stdout.trim();
    expect((await cli('snapshot', 'ls', id)).stdout).toContain(snap);
    const restored = (await cli('snapshot', 'restore', snap)).stdout.trim();
    expect(restored).not.toBe(id);
    expect((await cli('snapshot', 'rm', snap)).code).toBe(0);
    expect(JSON.parse((await cli('stats', id, '--json')).stdout)).toMatchObject({ pid_count: 5 });
    expect((await cli('timeout', id, '1h')).stdout).toMatch(/expires at \d{4}-/);
    expect((await cli('version')).stdout).toBe(
      `client: burrow ${CLI_VERSION}\nserver: burrow 9.9.9 (commit abc, built today) at ${api.url}\n`,
    );
    expect((await cli('rm', '--all')).code).toBe(0);
    expect(JSON.parse((await cli('ls', '--json')).stdout)).toEqual([]);
  });
});
