/**
 * `@e2b/code-interpreter` against `burrow serve --e2b`: its default template runs Burrow's code interpreter image
 * (built here with `burrow image build code-interpreter` when it is missing: minutes, once), and `runCode` reaches
 * the image's server on port 49999 through the relay run inside the sandbox (with auth on: the SDK sends the
 * sandbox's traffic token, as port 49999 then asks for it).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Sandbox } from '@e2b/code-interpreter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../support/child-server.js';
import { startE2bServer, type E2bServer } from '../support/e2b-server.js';

const run = promisify(execFile);
let e2b: E2bServer;
let sandbox: Sandbox;

beforeAll(async () => {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('BURROW_')) env[name] = value;
  const built = await run(process.execPath, [BIN, 'image', 'build', 'code-interpreter'], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(built.stdout).toBe('burrow/code-interpreter:latest is ready\n');
  // With auth on, port 49999 takes only requests with the sandbox's traffic token, which the SDK sends.
  e2b = await startE2bServer({ apiKey: 'e2e-code-key' });
  e2b.useExports('e2e-code-key');
  sandbox = await Sandbox.create({ timeoutMs: 600_000 });
}, 1_200_000);
afterAll(async () => {
  await sandbox?.kill().catch(() => undefined);
  await e2b?.close();
});

describe('@e2b/code-interpreter', () => {
  it('keeps state in a context: x = 1, then x + 1 is 2, with execution counts', async () => {
    const first = await sandbox.runCode('x = 1');
    expect(first.results).toEqual([]);
    expect(first.error).toBeUndefined();
    const second = await sandbox.runCode('x + 1');
    expect(second.text).toBe('2');
    expect(second.executionCount).toBe((first.executionCount ?? 0) + 1);
  });

  it('reports stdout, stderr and errors with their traceback', async () => {
    const stdout: string[] = [];
    const execution = await sandbox.runCode(
      'import sys\nprint("out")\nprint("err", file=sys.stderr)\n1 / 0',
      {
        onStdout: (message) => void stdout.push(message.line),
      },
    );
    expect(execution.logs).toEqual({ stdout: ['out\n'], stderr: ['err\n'] });
    expect(stdout).toEqual(['out\n']);
    expect(execution.error).toMatchObject({ name: 'ZeroDivisionError', value: 'division by zero' });
    // Jupyter's traceback, colours (ANSI escapes) and all, as E2B passes it on.
    const plain = (execution.error?.traceback ?? '').replace(
      new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g'),
      '',
    );
    expect(plain).toMatch(/ZeroDivisionError.*Traceback/);
    expect(plain).toContain('1 / 0');
  });

  it('returns rich results: a matplotlib PNG, HTML and JSON', async () => {
    const plot = await sandbox.runCode('import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()');
    const png = plot.results.find((result) => result.png !== undefined);
    expect(png?.formats()).toContain('png');
    expect(
      Buffer.from(png?.png ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    const rich = await sandbox.runCode(
      'from IPython.display import HTML, JSON, display\ndisplay(HTML("<b>bold</b>"))\nJSON({"answer": 42})',
    );
    expect(rich.results[0]).toMatchObject({ html: '<b>bold</b>', isMainResult: false });
    expect(rich.results[1]).toMatchObject({ json: { answer: 42 }, isMainResult: true });
  });

  it('creates, lists, restarts and removes contexts; each has its own state and directory', async () => {
    const context = await sandbox.createCodeContext({ cwd: '/tmp' });
    expect(context).toMatchObject({ language: 'python', cwd: '/tmp' });
    expect((await sandbox.runCode('import os\nos.getcwd()', { context })).text).toBe("'/tmp'");
    expect((await sandbox.runCode('x', { context })).error?.name).toBe('NameError');
    await sandbox.runCode('y = 5', { context });
    expect((await sandbox.listCodeContexts()).map((item) => item.id)).toContain(context.id);
    await sandbox.restartCodeContext(context);
    expect((await sandbox.runCode('y', { context })).error?.name).toBe('NameError');
    await sandbox.removeCodeContext(context);
    expect((await sandbox.listCodeContexts()).map((item) => item.id)).not.toContain(context.id);
    await expect(sandbox.runCode('1', { context })).rejects.toThrow(/not found/);
  });

  it('sets env vars for one run only, and runs as E2B\'s "user"', async () => {
    const code = 'import os\nstr(os.environ.get("ONLY_NOW"))';
    expect((await sandbox.runCode(code, { envs: { ONLY_NOW: 'yes' } })).text).toBe("'yes'");
    expect((await sandbox.runCode(code)).text).toBe("'None'");
    expect((await sandbox.commands.run('whoami; pwd')).stdout).toBe('user\n/home/user\n');
  });
});
