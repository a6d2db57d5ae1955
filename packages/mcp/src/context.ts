/** What every tool needs: the SDK client, and the set of sandboxes this MCP server created. */
import type { Burrow } from '@burrow/sdk';

export interface ToolContext {
  client: Burrow;
  /** Ids of sandboxes created (or restored) through this server, destroyed when it closes. */
  created: Set<string>;
}
