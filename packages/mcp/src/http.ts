/**
 * The streamable HTTP transport for `burrow serve` at /mcp. Stateless (no session id generator): each POST gets its own MCP server and
 * transport, whose SDK client carries the caller's API key, so MCP is authorised exactly like the API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { Burrow } from '@burrow/sdk';
import { createMcpServer } from './server.js';

export interface McpHttpOptions {
  /** The Burrow API the tools call (normally the serving process itself, on loopback). */
  url: string;
  /** Used when the request carries no key of its own. */
  apiKey?: string;
}

/** Handles one HTTP request on the MCP endpoint; resolves once the response is written. */
export type McpHttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  parsedBody?: unknown,
) => Promise<void>;

/** The caller's key: `X-API-Key`, else `Authorization: Bearer <key>`. */
export function requestApiKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key'];
  const key = Array.isArray(header) ? header[0] : header;
  if (key !== undefined && key !== '') return key;
  const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return match?.[1]?.trim();
}

function methodNotAllowed(res: ServerResponse): void {
  res.writeHead(405, { 'Content-Type': 'application/json', Allow: 'POST' });
  res.end(
    JSON.stringify({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this endpoint is stateless, use POST' },
      id: null,
    }),
  );
}

/**
 * Builds the handler. Sandboxes created over HTTP are not destroyed when a request ends (there is no session to
 * end); they expire with their timeout like any other.
 *
 * @example
 * const handler = createMcpHttpHandler({ url: 'http://127.0.0.1:8080' });
 * http.createServer((req, res) => void handler(req, res)).listen(3000);
 */
export function createMcpHttpHandler(options: McpHttpOptions): McpHttpHandler {
  return async (req, res, parsedBody) => {
    if (req.method !== 'POST') {
      methodNotAllowed(res);
      return;
    }
    const apiKey = requestApiKey(req) ?? options.apiKey;
    const client = new Burrow({ url: options.url, ...(apiKey === undefined ? {} : { apiKey }) });
    const server = createMcpServer({ client, keepSandboxes: true });
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, parsedBody);
  };
}
