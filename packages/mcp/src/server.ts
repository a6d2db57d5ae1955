/** The MCP server: Den's eleven tools plus Burrow's, over any MCP transport. */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Burrow } from '@burrow/sdk';
import { DEFAULT_MAX_READ_BYTES, type ToolContext } from './context.js';
import { registerFileTools } from './tools/file-tools.js';
import { registerProcessTools } from './tools/process-tools.js';
import { registerNetworkTools } from './tools/network-tools.js';
import { registerSandboxTools } from './tools/sandbox-tools.js';
import { registerSnapshotTools } from './tools/snapshot-tools.js';

/** The version this MCP server reports in `initialize`. */
export const MCP_SERVER_VERSION = '0.1.0';

export interface McpServerOptions {
  /** The SDK client the tools call. */
  client: Burrow;
  /** Leave the sandboxes this server created running when it closes (default: destroy them). */
  keepSandboxes?: boolean;
  /** Reported as serverInfo.version. */
  version?: string;
  /** Where to report failures while cleaning up (default: stderr). */
  log?: (message: string) => void;
  /** Largest part of a file `read_file` returns (default 1 MiB); the rest is left out, and the result says so. */
  maxReadBytes?: number;
}

/** An MCP server with Burrow's tools, and the cleanup of the sandboxes it created. */
export interface BurrowMcpServer {
  /** The underlying MCP server (to connect transports). */
  readonly mcp: McpServer;
  /** Ids of sandboxes created through this server and not destroyed yet. */
  readonly created: ReadonlySet<string>;
  connect(transport: Transport): Promise<void>;
  /** Destroys the sandboxes this server created (unless `keepSandboxes`), then closes the MCP server. */
  close(): Promise<void>;
}

/**
 * Builds the MCP server. Tool calls run concurrently; failures are `isError` results with the server's message.
 *
 * @example
 * import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
 * const server = createMcpServer({ client: new Burrow() });
 * await server.connect(new StdioServerTransport());
 */
export function createMcpServer(options: McpServerOptions): BurrowMcpServer {
  const mcp = new McpServer(
    { name: 'burrow', version: options.version ?? MCP_SERVER_VERSION },
    {
      capabilities: { tools: {} },
      instructions:
        'Burrow runs commands in isolated Linux sandboxes. Typical session: create_sandbox -> write_file / exec ' +
        '(argv arrays; ["sh","-c","..."] for shell syntax) -> read_file -> destroy_sandbox. Work under /tmp or ' +
        '/home/sandbox. A non-zero exit_code is a result to read, not a failure. For servers and other long-running ' +
        'commands use start_process, then process_output in later turns, and kill_process when done.',
    },
  );
  const context: ToolContext = {
    client: options.client,
    created: new Set(),
    maxReadBytes: options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES,
  };
  registerSandboxTools(mcp, context);
  registerFileTools(mcp, context);
  registerSnapshotTools(mcp, context);
  registerProcessTools(mcp, context);
  registerNetworkTools(mcp, context);
  const log = options.log ?? ((message: string) => process.stderr.write(`burrow mcp: ${message}\n`));

  let closing: Promise<void> | undefined;
  return {
    mcp,
    created: context.created,
    connect: (transport) => mcp.connect(transport),
    close: () => {
      closing ??= (async () => {
        if (options.keepSandboxes !== true) {
          const ids = [...context.created];
          const results = await Promise.allSettled(
            ids.map(async (id) => (await options.client.get(id)).destroy()),
          );
          results.forEach((result, index) => {
            if (result.status === 'fulfilled') context.created.delete(ids[index] ?? '');
            else if (!/not found/i.test(String(result.reason)))
              log(`could not destroy sandbox ${ids[index]}: ${String(result.reason)}`);
          });
        }
        await mcp.close();
      })();
      return closing;
    },
  };
}
