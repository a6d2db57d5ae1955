/**
 * MCP over streamable HTTP at `/mcp`, served by the same Fastify app as the API. The route needs an API key exactly
 * like `/api/v1` (the gate checks it before the handler runs); the handler's tools then call the API on loopback
 * with the caller's own key, so an MCP client can do precisely what its key allows and no more.
 */
import type { McpHttpHandler } from '@burrow/mcp';
import type { FastifyInstance } from 'fastify';

export const MCP_PATH = '/mcp';

/**
 * Registers `/mcp` (before `listen`). `apiUrl` is read on the first request, once the server knows its real
 * address (the configured port may be 0).
 */
export function mountMcp(app: FastifyInstance, apiUrl: () => string): void {
  // The MCP SDK and its schemas are loaded on the first request: about 10 MiB of heap a server that is never asked
  // for MCP does not carry.
  let handler: Promise<McpHttpHandler> | undefined;
  const load = async () => (await import('@burrow/mcp')).createMcpHttpHandler({ url: apiUrl() });
  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: MCP_PATH,
    config: { auth: 'required' },
    handler: async (request, reply) => {
      handler ??= load();
      const handle = await handler;
      // The MCP transport writes the response itself; keep the headers the gate set (CORS).
      reply.hijack();
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value);
      }
      try {
        // An empty POST body is passed as null so the transport answers a JSON-RPC parse error instead of waiting
        // for a request stream that Fastify has already read.
        await handle(request.raw, reply.raw, request.method === 'POST' ? (request.body ?? null) : undefined);
      } catch (error) {
        request.log.error({ err: error }, 'MCP request failed');
        if (!reply.raw.headersSent) {
          reply.raw.writeHead(500, { 'Content-Type': 'application/json' });
          reply.raw.end(JSON.stringify({ error: 'MCP request failed', code: 'INTERNAL' }));
        } else reply.raw.end();
      }
    },
  });
}

/** The URL the server's own MCP tools use to reach the API: loopback when it listens on every address. */
export function loopbackUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `http://127.0.0.1:${port}`;
  if (host === '::' || host === '[::]') return `http://[::1]:${port}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
