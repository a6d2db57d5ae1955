/** Tools for reaching what runs inside a sandbox: the preview URL of a port. */
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolContext } from '../context.js';
import { rfc3339, toolResult } from '../results.js';

export function registerNetworkTools(server: McpServer, { client }: ToolContext): void {
  server.registerTool(
    'get_preview_url',
    {
      description:
        'Get a URL for a TCP port inside a sandbox, e.g. a web server you started with exec. Start the server ' +
        'listening on 0.0.0.0 or 127.0.0.1 first (for example ["sh", "-c", "cd /tmp && python3 -m http.server 8000 ' +
        '>/dev/null 2>&1 &"]). The URL carries a short-lived token when the server needs one; give it to the user or ' +
        'fetch it yourself. path_url is the same without a host name. A 502 from it means nothing listens on the port.',
      inputSchema: {
        sandbox_id: z.string().describe('The sandbox id returned by create_sandbox'),
        port: z.number().int().min(1).max(65535).describe('The port the server inside listens on'),
        expires_in: z
          .number()
          .int()
          .positive()
          .optional()
          .describe("Token lifetime in seconds (the server's default, an hour unless configured)"),
      },
    },
    (args) =>
      toolResult(async () => {
        const sandbox = await client.get(args.sandbox_id);
        const preview = await sandbox.network.preview(
          args.port,
          args.expires_in === undefined ? {} : { expiresInSeconds: args.expires_in },
        );
        const withToken = (url: string) => {
          if (preview.token === undefined) return url;
          const parsed = new URL(url);
          parsed.searchParams.set('burrow_token', preview.token);
          return parsed.toString();
        };
        return {
          url: withToken(preview.url),
          path_url: withToken(preview.pathUrl),
          public: preview.public,
          ...(preview.expiresAt === undefined ? {} : { expires_at: rfc3339(preview.expiresAt) }),
        };
      }),
  );
}
