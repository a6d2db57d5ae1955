/** What every tool needs: the SDK client, and the set of sandboxes this MCP server created. */
import type { Burrow } from '@burrow/sdk';

export interface ToolContext {
  client: Burrow;
  /** Ids of sandboxes created (or restored) through this server, destroyed when it closes. */
  created: Set<string>;
  /** Largest part of a file `read_file` returns, in bytes. */
  maxReadBytes: number;
}

/** `read_file` returns at most this much of a file by default (1 MiB): enough for a model, bounded for the server. */
export const DEFAULT_MAX_READ_BYTES = 1024 * 1024;
