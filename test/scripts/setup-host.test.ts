/**
 * The prerequisite check of scripts/start.sh and scripts/test.sh (scripts/setup-host.sh): run for real, with Node
 * hidden from PATH or replaced by an old one, it must stop before installing anything and say what to install.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HIDDEN = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack']);

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A PATH of one directory holding every command of the usual ones except Node's (plus `extra` scripts). */
function pathWithoutNode(extra: Record<string, string> = {}): string {
  const bin = mkdtempSync(join(tmpdir(), 'burrow-nonode-'));
  dirs.push(bin);
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (HIDDEN.has(name)) continue;
      try {
        symlinkSync(join(dir, name), join(bin, name));
      } catch {
        // the same name in an earlier directory wins, as on PATH
      }
    }
  }
  for (const [name, script] of Object.entries(extra)) {
    rmSync(join(bin, name), { force: true });
    writeFileSync(join(bin, name), script);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

function run(script: string, path: string) {
  const result = spawnSync('/bin/bash', [join(ROOT, script)], {
    cwd: ROOT,
    env: { PATH: path, HOME: tmpdir(), BURROW_SETUP_APT_LOG: join(tmpdir(), 'burrow-never.log') },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}`, stderr: result.stderr };
}

describe('start.sh prerequisite check', () => {
  it('stops before installing anything when Node is not on PATH, and says what to install', () => {
    const { code, out, stderr } = run('scripts/start.sh', pathWithoutNode());
    expect(code).not.toBe(0);
    expect(stderr).toContain("setup: ERROR: Node.js is not installed (no 'node' on PATH)");
    expect(stderr).toContain('install Node.js 20.19 or newer');
    expect(stderr).toContain("Debian 12's own nodejs package (18.x) is too old");
    expect(out).not.toMatch(/installing|npm ci|docker daemon/);
  });

  it('refuses a Node older than 20.19 and names the version it found', () => {
    const path = pathWithoutNode({ node: '#!/bin/sh\necho v18.19.0\n', npm: '#!/bin/sh\necho 9.2.0\n' });
    const { code, out, stderr } = run('scripts/start.sh', path);
    expect(code).not.toBe(0);
    expect(stderr).toContain('setup: ERROR: Node.js 18.19.0 is too old (Burrow needs 20.19 or newer)');
    expect(out).not.toMatch(/installing|npm ci|docker daemon/);
  });

  it('asks for npm when Node has come without it (test.sh runs the same check)', () => {
    const path = pathWithoutNode({ node: '#!/bin/sh\necho v20.19.1\n' });
    const { code, stderr } = run('scripts/test.sh', path);
    expect(code).not.toBe(0);
    expect(stderr).toContain('setup: ERROR: npm is not installed (Node.js 20.19.1 is, without npm)');
  });
});
