/** Tools for the sandbox's files. */
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FileInfo } from '@burrow/sdk';
import type { ToolContext } from '../context.js';
import { rfc3339, toolResult } from '../results.js';

const sandboxId = z.string().describe('The sandbox id returned by create_sandbox');
const path = z.string().describe('Absolute path inside the sandbox, e.g. /home/sandbox/main.py');

/** Text as is; bytes that are not UTF-8 as `base64:<data>`, as Den does. */
export function fileContent(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `base64:${Buffer.from(bytes).toString('base64')}`;
  }
}

function fileJson(file: FileInfo): Record<string, unknown> {
  return {
    name: file.name,
    path: file.path,
    size: file.size,
    mode: file.mode,
    mod_time: rfc3339(file.modTime),
    is_dir: file.isDir,
    ...(file.isSymlink === true ? { is_symlink: true, link_target: file.linkTarget ?? '' } : {}),
  };
}

export function registerFileTools(server: McpServer, { client }: ToolContext): void {
  server.registerTool(
    'read_file',
    {
      description:
        'Read a file from a sandbox. Text comes back as is; binary content comes back as "base64:<data>".',
      inputSchema: { sandbox_id: sandboxId, path },
    },
    (args) =>
      toolResult(async () => {
        const bytes = await (await client.get(args.sandbox_id)).files.read(args.path);
        return { content: fileContent(bytes) };
      }),
  );

  server.registerTool(
    'write_file',
    {
      description:
        'Write text to a file in a sandbox, creating parent directories and replacing an existing file. Write under ' +
        '/tmp or /home/sandbox (the rest of the filesystem is read-only). The content is stored verbatim as UTF-8.',
      inputSchema: {
        sandbox_id: sandboxId,
        path,
        content: z.string().describe('The whole new content of the file'),
      },
    },
    (args) =>
      toolResult(async () => {
        await (await client.get(args.sandbox_id)).files.write(args.path, args.content);
        return { success: true };
      }),
  );

  server.registerTool(
    'list_files',
    {
      description:
        'List a directory in a sandbox: name, path, size, mode, modification time and whether it is a directory.',
      inputSchema: {
        sandbox_id: sandboxId,
        path: path.describe('Absolute path of a directory, e.g. /home/sandbox'),
      },
    },
    (args) =>
      toolResult(async () => {
        const files = await (await client.get(args.sandbox_id)).files.list(args.path);
        return { files: files.map(fileJson) };
      }),
  );

  server.registerTool(
    'stat_file',
    {
      description:
        'Describe one path in a sandbox (size, mode, modification time, directory or not). Fails when it does not exist.',
      inputSchema: { sandbox_id: sandboxId, path },
    },
    (args) =>
      toolResult(async () => fileJson(await (await client.get(args.sandbox_id)).files.stat(args.path))),
  );

  server.registerTool(
    'delete_file',
    {
      description: 'Delete a file or a whole directory tree in a sandbox (succeeds if it is already gone).',
      inputSchema: { sandbox_id: sandboxId, path },
    },
    (args) =>
      toolResult(async () => {
        await (await client.get(args.sandbox_id)).files.remove(args.path);
        return { success: true };
      }),
  );

  server.registerTool(
    'mkdir',
    {
      description: 'Create a directory (and its parents) in a sandbox, under /tmp or /home/sandbox.',
      inputSchema: { sandbox_id: sandboxId, path },
    },
    (args) =>
      toolResult(async () => {
        await (await client.get(args.sandbox_id)).files.mkdir(args.path);
        return { success: true };
      }),
  );
}
