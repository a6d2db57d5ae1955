/** `burrow dashboard` against the real API (fake runtime) serving a dashboard, with a stand-in xdg-open on PATH. */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApi, type Harness } from '../../../server/src/api/test-support/harness.js';
import { freePort } from '../../../../test/support/server.js';
import { runCli } from '../cli.js';
import { findOnPath } from './dashboard.js';

let dir: string;
let withDashboard: Harness;
let without: Harness;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-dashboard-cli-'));
  await mkdir(join(dir, 'web'));
  await writeFile(join(dir, 'web', 'index.html'), '<!doctype html><title>Burrow</title>');
  withDashboard = await startApi({ dashboardDir: join(dir, 'web'), auth: { enabled: false, apiKeys: [] } });
  without = await startApi({ auth: { enabled: false, apiKeys: [] } });
});
afterAll(async () => {
  await withDashboard.close();
  await without.close();
  await rm(dir, { recursive: true, force: true });
});

async function cli(env: Record<string, string>, ...args: string[]) {
  let stdout = '';
  let stderr = '';
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runCli(['node', 'burrow', ...args]);
    process.exitCode = undefined;
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.env = saved;
  }
}

describe('burrow dashboard', () => {
  it('prints the URL with --print, and when there is no xdg-open', async () => {
    const printed = await cli({}, 'dashboard', '--print', '--server', withDashboard.url);
    expect(printed).toMatchObject({ code: 0, stdout: `${withDashboard.url}/\n` });
    const bare = await cli({ PATH: join(dir, 'empty') }, 'dashboard', '--server', withDashboard.url);
    expect(bare).toMatchObject({ code: 0, stdout: `${withDashboard.url}/\n` });
  });

  it('opens it with xdg-open when there is one', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const opened = join(dir, 'opened.txt');
    await writeFile(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
    await chmod(join(bin, 'xdg-open'), 0o755);
    expect(findOnPath('xdg-open', bin)).toBe(join(bin, 'xdg-open'));
    const result = await cli(
      { PATH: `${bin}:${process.env.PATH ?? ''}` },
      'dashboard',
      '--server',
      withDashboard.url,
    );
    expect(result).toMatchObject({ code: 0, stdout: `opening ${withDashboard.url}/\n` });
    await expect.poll(() => readFile(opened, 'utf8').catch(() => '')).toBe(`${withDashboard.url}/`);
  });

  it('says when the server has no dashboard built, or cannot be reached', async () => {
    const missing = await cli({}, 'dashboard', '--print', '--server', without.url);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('serves no dashboard');
    const down = await cli({}, 'dashboard', '--print', '--server', `http://127.0.0.1:${await freePort()}`);
    expect(down.code).toBe(4);
  });
});
