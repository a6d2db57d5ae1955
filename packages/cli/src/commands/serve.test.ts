import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../cli.js';
import { serveApiKeys, serveFlags } from './serve.js';

/** Parses a `burrow serve ...` command line and returns the config tree its flags produce. */
async function serveTree(args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const program = buildProgram();
    const serve = program.commands.find((command) => command.name() === 'serve') as Command;
    let tree: Record<string, unknown> = {};
    serve.action((flags: Parameters<typeof serveFlags>[0], command: Command) => {
      tree = serveFlags({ ...flags, apiKey: serveApiKeys(flags, command) });
    });
    await program.parseAsync(['node', 'burrow', 'serve', ...args]);
    return tree;
  } finally {
    process.env = saved;
  }
}

describe('burrow serve flags', () => {
  it('turns auth on with --api-key, though the clients share that option name', async () => {
    expect((await serveTree(['--api-key', 's3cret'])).auth).toEqual({ enabled: true, api_keys: ['s3cret'] });
    expect((await serveTree(['--host', '0.0.0.0', '--api-key', 'a', '--port', '0'])).auth).toEqual({
      enabled: true,
      api_keys: ['a'],
    });
  });

  it("does not take a client's BURROW_API_KEY as a server key", async () => {
    expect((await serveTree([], { BURROW_API_KEY: 'client-key' })).auth).toBeUndefined();
  });

  it('turns the E2B-compatible endpoint on with --e2b', async () => {
    expect((await serveTree(['--e2b'])).e2b).toEqual({ enabled: true });
    expect((await serveTree([])).e2b).toBeUndefined();
  });
});
