/** `burrow keys` and `burrow audit` in-process on a real state file in a temporary data directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from './cli.js';
import { parseSince } from './commands/keys.js';

const dataDir = mkdtempSync(join(tmpdir(), 'burrow-cli-keys-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
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
    const code = await runCli(['node', 'burrow', ...args, '--data-dir', dataDir]);
    process.exitCode = undefined;
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('burrow keys', () => {
  it('creates a key printed once on stdout, lists it by name and prefix, and revokes it', async () => {
    const created = await cli('keys', 'create', '--name', 'alice', '--expires', '30d');
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^bk_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(
      /key alice \(key_[0-9a-f]{16}, tenant alice\) created; it is not shown again/,
    );

    const e2b = await cli('keys', 'create', '--name', 'agent', '--tenant', 'alice', '--e2b', '--json');
    expect(JSON.parse(e2b.stdout)).toMatchObject({
      name: 'agent',
      tenant: 'alice',
      key: expect.stringMatching(/^e2b_[0-9a-f]{40}$/),
    });
    const admin = await cli('keys', 'create', '--name', 'ops', '--admin', '--json');
    expect(JSON.parse(admin.stdout)).toMatchObject({ admin: true, tenant: '' });

    const table = (await cli('keys', 'ls')).stdout;
    expect(table).toMatch(/^ID\s+NAME\s+TENANT\s+ROLE\s+PREFIX\s+CREATED\s+LAST USED\s+EXPIRES\s+STATE\n/);
    expect(table).toMatch(
      new RegExp(`alice\\s+alice\\s+tenant\\s+${key.slice(0, 12)}…\\s+.+\\s+never\\s+in 29d23h\\s+active`),
    );
    expect(table).not.toContain(key.slice(12));

    expect((await cli('keys', 'revoke', 'alice')).stderr).toMatch(/key alice \(key_\w+\) revoked/);
    expect((await cli('keys', 'ls')).stdout).not.toMatch(/\balice\s+alice/);
    const all = JSON.parse((await cli('keys', 'ls', '--all', '--json')).stdout) as Array<
      Record<string, unknown>
    >;
    expect(all.find((record) => record.name === 'alice')?.revoked_at).toEqual(expect.any(String));

    const again = await cli('keys', 'revoke', 'alice');
    expect(again.code).toBe(3);
    expect(again.stderr).toMatch(/no key "alice" to revoke/);
    expect((await cli('keys', 'create', '--name', 'bad name')).stderr).toMatch(/1-64 letters/);
  });

  it('shows the key changes in the audit log, by the person at the terminal, without the keys', async () => {
    const entries = JSON.parse((await cli('audit', '--json')).stdout) as Array<Record<string, unknown>>;
    expect(entries.map((entry) => entry.action)).toContain('key.revoke');
    expect(entries.every((entry) => String(entry.key_name).startsWith('cli:'))).toBe(true);
    expect(entries[0]).toMatchObject({ address: 'local', outcome: 'ok' });
    const table = (await cli('audit', '--action', 'key.create', '--since', '1h')).stdout;
    expect(table.split('\n').filter((line) => line.includes('key.create'))).toHaveLength(3);
  });
});

describe('--since', () => {
  it('takes a duration back from now or an RFC 3339 time', () => {
    expect(parseSince('1h', 10_000_000).getTime()).toBe(10_000_000 - 3_600_000);
    expect(parseSince('2026-05-01T00:00:00Z').toISOString()).toBe('2026-05-01T00:00:00.000Z');
    expect(() => parseSince('yesterday')).toThrow(/not a duration/);
  });
});
