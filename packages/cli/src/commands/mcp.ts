import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { EmbeddedServer } from '@burrow/mcp';

/**
 * Starts a Burrow server inside this process on a loopback port the system picks. Its data lives in ~/.burrow/mcp
 * (unless BURROW_DATA_DIR says otherwise) so it never shares state with a `burrow serve`; logs are JSON on stderr
 * because stdout belongs to MCP. Stopping it leaves sandboxes alone: the MCP session has already destroyed the ones
 * it created, unless --keep-sandboxes asked to keep them (and kept ones from earlier sessions stay kept). They are
 * recorded in the data directory, so the next embedded server finds them and removes them when they expire.
 */
export async function startEmbeddedServer(): Promise<EmbeddedServer> {
  const { createLogger, loadConfig, startServer } = await import('@burrow/server');
  const flags: Record<string, unknown> = {
    server: { host: '127.0.0.1', port: 0 },
    log: { format: 'json', level: process.env.BURROW_LOG__LEVEL ?? 'warn' },
  };
  if (process.env.BURROW_DATA_DIR === undefined) flags.data_dir = join(homedir(), '.burrow', 'mcp');
  const config = loadConfig({ flags });
  const server = await startServer(config, { logger: createLogger(config, process.stderr) });
  return { url: server.url, close: () => server.close({ destroySandboxes: false }) };
}

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description('serve MCP (Model Context Protocol) on stdin/stdout for AI agents')
    .option('--keep-sandboxes', 'leave the sandboxes this session created running when it ends')
    .option('--no-embedded', 'never start an embedded server; only use the one at --server / BURROW_URL')
    .addHelpText(
      'after',
      `
Talks to the Burrow server at --server / BURROW_URL (default http://127.0.0.1:8080); when none answers, it
starts an embedded one (data in ~/.burrow/mcp). When the client disconnects, the sandboxes it created are
destroyed unless --keep-sandboxes; kept ones run on until their timeout (an embedded server of a later session
removes them then, from the same data directory). Logs go to stderr.

Examples (the absolute path works from any directory; "npx burrow" would fetch an unrelated npm package):
  claude mcp add burrow -- node /path/to/burrow/packages/cli/dist/bin.js mcp
  BURROW_URL=http://127.0.0.1:9090 burrow mcp --keep-sandboxes`,
    )
    .action(async (flags: { keepSandboxes?: boolean; embedded: boolean }, command: Command) => {
      const globals = command.optsWithGlobals<{ server?: string; apiKey?: string }>();
      const { runStdio } = await import('@burrow/mcp');
      await runStdio({
        ...(globals.server === undefined ? {} : { url: globals.server }),
        ...(globals.apiKey === undefined ? {} : { apiKey: globals.apiKey }),
        keepSandboxes: flags.keepSandboxes === true,
        ...(flags.embedded ? { startEmbeddedServer } : {}),
      });
      // The session is over and cleaned up: do not let an idle keep-alive socket hold the process open.
      setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    });
}
