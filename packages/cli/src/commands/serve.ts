import type { Command } from 'commander';

interface ServeFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  config?: string;
  apiKey?: string[];
  destroyOnExit?: boolean;
  e2b?: boolean;
}

/** Turns serve's flags into a partial configuration tree (flags win over env and file). */
export function serveFlags(flags: ServeFlags): Record<string, unknown> {
  const tree: Record<string, Record<string, unknown> | unknown> = {};
  const server: Record<string, unknown> = {};
  if (flags.host !== undefined) server.host = flags.host;
  if (flags.port !== undefined) server.port = flags.port;
  if (Object.keys(server).length > 0) tree.server = server;
  if (flags.dataDir !== undefined) tree.data_dir = flags.dataDir;
  if (flags.apiKey !== undefined && flags.apiKey.length > 0)
    tree.auth = { enabled: true, api_keys: flags.apiKey };
  if (flags.destroyOnExit === true) tree.destroy_on_exit = true;
  if (flags.e2b === true) tree.e2b = { enabled: true };
  return tree;
}

/**
 * `--api-key` is also the clients' global option, so commander may hand it to the program instead of `serve`:
 * take it from there when it was typed on the command line (not when it only came from BURROW_API_KEY).
 */
export function serveApiKeys(flags: ServeFlags, command: Command): string[] {
  const keys = [...(flags.apiKey ?? [])];
  const parent = command.parent;
  if (parent !== null && parent.getOptionValueSource('apiKey') === 'cli') {
    const global = parent.opts<{ apiKey?: string }>().apiKey;
    if (global !== undefined && !keys.includes(global)) keys.push(global);
  }
  return keys;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the Burrow server (API, WebSocket exec, MCP endpoint)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (default 8080; 0 picks a free port, logged at start)')
    .option('--data-dir <dir>', 'where state, sockets and snapshot data live (default ~/.burrow)')
    .option('--config <file>', 'YAML config file (Den key layout; a den.yaml works)')
    .option('--api-key <key...>', 'require this API key (turns auth on); repeat for several keys')
    .option('--destroy-on-exit', 'destroy all sandboxes when the server stops (default: leave them running)')
    .option('--e2b', "also serve the E2B-compatible endpoint (127.0.0.1:8081; E2B's SDKs work against it)")
    .addHelpText(
      'after',
      `
Examples:
  burrow serve                                  # 127.0.0.1:8080, auth off
  burrow serve --host 0.0.0.0 --api-key s3cret  # reachable from the network, key required
  BURROW_SANDBOX__MAX_SANDBOXES=20 burrow serve --config burrow.yaml

Environment: BURROW_<SECTION>__<KEY> sets any config key, e.g. BURROW_SERVER__PORT=9090.

Before it starts it runs the required checks of "burrow doctor" (Docker, agent, data directory, port) and stops
with their lines when one fails. The first start builds the default image (progress on a terminal, a log line every
15 s elsewhere). When ready it prints the API address, whether auth is on, the MCP line for Claude Code and a
command to try (with log.format json: the same facts as fields of the "burrow ready" line). With --e2b it also
prints the export lines that point E2B's SDKs at this server (docs/e2b.md).`,
    )
    .action(async (flags: ServeFlags, command: Command) => {
      // Loaded here, not at the top: client verbs should not pay for Fastify, Docker and SQLite at startup.
      const { loadConfig, serve } = await import('@burrow/server');
      const config = loadConfig({
        ...(flags.config === undefined ? {} : { file: flags.config }),
        flags: serveFlags({ ...flags, apiKey: serveApiKeys(flags, command) }),
        warn: (message) => process.stderr.write(`burrow: config: ${message}\n`),
      });
      // A live progress line on a terminal with text logs; JSON logs and pipes get log lines at an interval.
      const { terminalProgress } = await import('../terminal-progress.js');
      const progress = config.log.format === 'text' ? terminalProgress() : undefined;
      await serve(config, progress === undefined ? {} : { progress });
    });
}
