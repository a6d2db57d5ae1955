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

/** Drops an incomplete UTF-8 sequence at the end of a cut, so cut text still reads as text. */
export function trimPartialUtf8(bytes: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead byte
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.subarray(0, bytes.length - back) : bytes;
  }
  return bytes;
}

/** The first `max` bytes of a stream (the rest is never read), and whether there was more. */
export async function readAtMost(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const room = max - total;
      if (value.length > room) {
        truncated = true;
        chunks.push(value.subarray(0, room));
        total += room;
        break;
      }
      chunks.push(value);
      total += value.length;
    }
  } finally {
    if (truncated) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
  return { bytes: Buffer.concat(chunks, total), truncated };
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

export function registerFileTools(server: McpServer, { client, maxReadBytes }: ToolContext): void {
  server.registerTool(
    'read_file',
    {
      description:
        'Read a file from a sandbox. Text comes back as is; binary content comes back as "base64:<data>". ' +
        `At most the first ${maxReadBytes} bytes are returned: for a longer file the result has "truncated": true ` +
        'and its size; read the rest with exec (e.g. ["tail", "-c", "10000", path]).',
      inputSchema: { sandbox_id: sandboxId, path },
    },
    (args, extra) =>
      toolResult(async () => {
        const sandbox = await client.get(args.sandbox_id);
        const stream = await sandbox.files.readStream(args.path, { signal: extra.signal });
        const { bytes, truncated } = await readAtMost(stream, maxReadBytes);
        if (!truncated) return { content: fileContent(bytes) };
        const size = (await sandbox.files.stat(args.path, { signal: extra.signal })).size;
        return {
          content: fileContent(trimPartialUtf8(bytes)),
          truncated: true,
          size,
          note: `only the first ${maxReadBytes} bytes of this ${size}-byte file are shown: read the rest with exec (tail, head -c, sed -n)`,
        };
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
        const { entries, truncated } = await (await client.get(args.sandbox_id)).files.listEntries(args.path);
        return { files: entries.map(fileJson), ...(truncated ? { truncated: true } : {}) };
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
