/** `@burrow/mcp`: Burrow's sandboxes as MCP tools, over stdio (`burrow mcp`) or streamable HTTP (`/mcp`). */
export {
  createMcpServer,
  MCP_SERVER_VERSION,
  type BurrowMcpServer,
  type McpServerOptions,
} from './server.js';
export { runStdio, type EmbeddedServer, type StdioOptions } from './stdio.js';
export { createMcpHttpHandler, requestApiKey, type McpHttpHandler, type McpHttpOptions } from './http.js';
export { fileContent } from './tools/file-tools.js';
