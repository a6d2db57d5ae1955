/** Tools for snapshots. */
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ToolContext } from '../context.js';
import { rfc3339, toolResult } from '../results.js';

const snapshotId = z.string().describe('A snapshot id returned by snapshot_create (snap-...)');

export function registerSnapshotTools(server: McpServer, { client, created }: ToolContext): void {
  server.registerTool(
    'snapshot_create',
    {
      description:
        "Save a sandbox's filesystem as a snapshot, e.g. after installing dependencies, to restore it later or to " +
        'fork it. In Burrow snapshots keep the contents of /tmp and /home/sandbox too.',
      inputSchema: {
        sandbox_id: z.string().describe('The sandbox to snapshot'),
        name: z.string().optional().describe('A name for the snapshot (default snapshot-<timestamp>)'),
      },
    },
    (args) =>
      toolResult(async () => {
        const name = args.name === undefined || args.name === '' ? `snapshot-${Date.now()}000000` : args.name;
        const snapshot = await (await client.get(args.sandbox_id)).snapshots.create(name);
        return { snapshot_id: snapshot.id };
      }),
  );

  server.registerTool(
    'snapshot_restore',
    {
      description:
        'Start a NEW sandbox from a snapshot and return its id (the original sandbox is untouched). Destroy it with ' +
        'destroy_sandbox when done.',
      inputSchema: { snapshot_id: snapshotId },
    },
    (args) =>
      toolResult(async () => {
        const sandbox = await client.snapshots.restore(args.snapshot_id);
        created.add(sandbox.id);
        return { sandbox_id: sandbox.id };
      }),
  );

  server.registerTool(
    'snapshot_list',
    {
      description: "List a sandbox's snapshots.",
      inputSchema: { sandbox_id: z.string().describe('The sandbox whose snapshots to list') },
    },
    (args) =>
      toolResult(async () => ({
        snapshots: (await (await client.get(args.sandbox_id)).snapshots.list()).map((snapshot) => ({
          id: snapshot.id,
          sandbox_id: snapshot.sandboxId,
          name: snapshot.name,
          created_at: rfc3339(snapshot.createdAt),
          size: snapshot.size,
        })),
      })),
  );

  server.registerTool(
    'snapshot_delete',
    { description: 'Delete a snapshot you no longer need.', inputSchema: { snapshot_id: snapshotId } },
    (args) =>
      toolResult(async () => {
        await client.snapshots.delete(args.snapshot_id);
        return { success: true };
      }),
  );
}
