/** run, ps, logs, kill and attach in-process against the server's real API over its in-memory runtime. */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_KEY, startApi, type Harness } from '../../server/src/api/test-support/harness.js';
import { runCli } from './cli.js';

let api: Harness;
let id: string;
beforeAll(async () => {
  api = await startApi();
  id = await api.sandbox();
});
afterAll(() => api.close());
afterEach(() => {
  process.exitCode = undefined;
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const code = await runCli(['node', 'burrow', '--server', api.url, '--api-key', API_KEY, ...args]);
    process.exitCode = undefined;
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('background process verbs', () => {
  it('run -d prints the id; ps lists it; logs prints its output; kill ends it', async () => {
    const started = await cli(
      'run',
      '-d',
      '--tag',
      'web',
      '--env',
      'PORT=8000',
      id,
      '--',
      'sh',
      '-c',
      'printenv PORT; echo oops >&2; sleep 30',
    );
    expect(started.code).toBe(0);
    const processId = started.stdout.trim();
    expect(processId).toMatch(/^proc_[0-9a-f]+$/);

    const table = await cli('ps', id);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+PID\s+TAG\s+STATUS\s+STARTED\s+COMMAND$/);
    expect(table.stdout).toMatch(
      new RegExp(
        `${processId}\\s+\\d+\\s+web\\s+running\\s+\\d+s ago\\s+sh -c "printenv PORT; echo oops >&2; sleep 30"`,
      ),
    );
    expect(JSON.parse((await cli('ps', id, '--json')).stdout)).toContainEqual(
      expect.objectContaining({ id: processId, tag: 'web', running: true }),
    );
    expect((await cli('ps', '-q', id)).stdout).toContain(`${processId}\n`);

    expect(await cli('logs', id, 'web')).toEqual({ code: 0, stdout: '8000\n', stderr: 'oops\n' });
    expect(await cli('logs', id, processId)).toEqual({ code: 0, stdout: '8000\n', stderr: 'oops\n' });

    expect(await cli('kill', id, 'web')).toEqual({
      code: 0,
      stdout: `${processId} exited (137)\n`,
      stderr: '',
    });
    expect((await cli('ps', id)).stdout).toMatch(new RegExp(`${processId}.*exited \\(137\\)`));
  });

  it('run without -d follows the output and exits with the process code', async () => {
    const result = await cli('run', id, '--', 'sh', '-c', 'echo hello; echo err >&2; exit 4');
    expect(result.code).toBe(4);
    expect(result.stdout).toBe('hello\n');
    expect(result.stderr).toMatch(/^burrow: started proc_[0-9a-f]+\nerr\n$/);
  });

  it('logs -f follows until the exit; kill -s sends a signal', async () => {
    const processId = (await cli('run', '-d', id, '--', 'sleep', '30')).stdout.trim();
    setTimeout(() => void cli('kill', '-s', 'TERM', id, processId), 200);
    const followed = await cli('logs', '-f', id, processId);
    expect(followed.code).toBe(0);
    expect((await api.engine.processes.get(id, processId)).exitCode).toBe(143);
  });

  it('says when earlier output was dropped', async () => {
    const processId = (await cli('run', '-d', id, '--', 'head', '-c', '2000000', '/dev/zero')).stdout.trim();
    await api.engine.processes.wait(id, processId, 5000);
    const logs = await cli('logs', id, processId);
    expect(logs.stderr).toBe('burrow: earlier output was dropped (the buffer keeps the most recent)\n');
    expect(logs.stdout.length).toBe(1024 * 1024);
  });

  it('reports unknown processes and bad signals with one line and the right exit code', async () => {
    expect(await cli('logs', id, 'nosuchtag')).toEqual({
      code: 3,
      stdout: '',
      stderr: `burrow: no process "nosuchtag" in sandbox ${id}: give a process id (proc_...) or a tag (see burrow ps ${id})\n`,
    });
    expect((await cli('kill', id, 'proc_00000000')).code).toBe(3);
    const processId = (await cli('run', '-d', id, '--', 'sleep', '30')).stdout.trim();
    const bad = await cli('kill', '-s', 'BOGUS', id, processId);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^burrow: unknown signal "BOGUS": use one of SIGHUP/);
    expect((await cli('run', id)).code).toBe(2);
    await cli('kill', id, processId);
  });

  it('exec -t runs the command on a terminal: stderr merged into stdout', async () => {
    expect(await cli('exec', '-t', id, '--', 'sh', '-c', 'echo out; echo err >&2')).toEqual({
      code: 0,
      stdout: 'out\nerr\n',
      stderr: '',
    });
  });
});
