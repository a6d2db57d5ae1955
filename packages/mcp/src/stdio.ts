/**
 * `burrow mcp`: the MCP server on stdin/stdout. It talks to a running Burrow server, or starts an embedded one
 * when none answers. stdout carries only JSON-RPC; every log line goes to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Burrow, ConnectionError, resolveOptions } from '@burrow/sdk';
import { createMcpServer } from './server.js';

/** A server started in-process for this MCP session. */
export interface EmbeddedServer {
  url: string;
  close(): Promise<void>;
}

export interface StdioOptions {
  url?: string;
  apiKey?: string;
  keepSandboxes?: boolean;
  /** Starts a server when none answers at the URL. */
  startEmbeddedServer?: () => Promise<EmbeddedServer>;
  log?: (message: string) => void;
}

/** Finds a server that answers, starting the embedded one if allowed. */
async function connectClient(options: StdioOptions, log: (message: string) => void) {
  const resolved = resolveOptions({ url: options.url, apiKey: options.apiKey });
  const client = new Burrow({ url: resolved.url, apiKey: resolved.apiKey });
  try {
    await client.health();
    return { client, embedded: undefined };
  } catch (error) {
    if (!(error instanceof ConnectionError) || options.startEmbeddedServer === undefined) {
      log(`${error instanceof Error ? error.message : String(error)}; tools will fail until it answers`);
      return { client, embedded: undefined };
    }
  }
  log(`no Burrow server at ${resolved.url}: starting an embedded one`);
  const embedded = await options.startEmbeddedServer();
  log(`embedded Burrow server at ${embedded.url}`);
  return { client: new Burrow({ url: embedded.url, apiKey: resolved.apiKey }), embedded };
}

/**
 * Serves MCP on stdio until stdin ends or SIGTERM/SIGINT; then destroys the sandboxes it created (unless
 * `keepSandboxes`) and stops the embedded server.
 *
 * @example
 * await runStdio({ url: 'http://127.0.0.1:8080', keepSandboxes: false });
 */
export async function runStdio(options: StdioOptions = {}): Promise<void> {
  const log = options.log ?? ((message: string) => process.stderr.write(`burrow mcp: ${message}\n`));
  const { client, embedded } = await connectClient(options, log);
  const server = createMcpServer({ client, keepSandboxes: options.keepSandboxes === true, log });
  const transport = new StdioServerTransport();

  await new Promise<void>((resolve) => {
    const finish = () => {
      process.stdin.off('end', finish);
      process.stdin.off('close', finish);
      process.off('SIGTERM', finish);
      process.off('SIGINT', finish);
      resolve();
    };
    process.stdin.once('end', finish);
    process.stdin.once('close', finish);
    process.once('SIGTERM', finish);
    process.once('SIGINT', finish);
    transport.onclose = finish;
    void server.connect(transport).catch((error: unknown) => {
      log(`transport failed: ${String(error)}`);
      finish();
    });
  });

  // Clients send SIGTERM when the process takes a moment to exit; the first one must not cut the cleanup short.
  let signals = 0;
  const duringCleanup = () => {
    signals++;
    if (signals > 1) process.exit(1);
    log('destroying the sandboxes of this session; signal again to exit at once');
  };
  process.on('SIGTERM', duringCleanup);
  process.on('SIGINT', duringCleanup);
  try {
    await server.close();
  } finally {
    await embedded
      ?.close()
      .catch((error: unknown) => log(`embedded server did not stop cleanly: ${String(error)}`));
    process.off('SIGTERM', duringCleanup);
    process.off('SIGINT', duringCleanup);
    process.stdin.pause();
    process.stdin.unref?.();
  }
}
