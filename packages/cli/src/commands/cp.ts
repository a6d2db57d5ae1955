import { stat } from 'node:fs/promises';
import { basename, join, posix } from 'node:path';
import type { Command } from 'commander';
import { FileNotFoundError, type Burrow, type Sandbox } from '@burrow/sdk';
import { clientFor, UsageError } from '../client.js';
import { parseCopyEndpoint } from '../parse.js';
import { downloadTree, uploadTree } from '../transfer.js';

/** Like cp: copying into an existing directory (or a path ending in /) puts the source inside it. */
async function remoteTarget(sandbox: Sandbox, dest: string, source: string): Promise<string> {
  const name = basename(source.replace(/\/+$/, ''));
  if (dest.endsWith('/')) return posix.join(dest, name);
  try {
    return (await sandbox.files.stat(dest)).isDir ? posix.join(dest, name) : dest;
  } catch (error) {
    if (error instanceof FileNotFoundError) return dest;
    throw error;
  }
}

async function localTarget(dest: string, source: string): Promise<string> {
  const name = posix.basename(source.replace(/\/+$/, '')) || 'root';
  if (dest.endsWith('/')) return join(dest, name);
  try {
    return (await stat(dest)).isDirectory() ? join(dest, name) : dest;
  } catch {
    return dest;
  }
}

async function copy(burrow: Burrow, from: string, to: string): Promise<void> {
  const source = parseCopyEndpoint(from);
  const dest = parseCopyEndpoint(to);
  if (source.kind === 'local' && dest.kind === 'remote') {
    const sandbox = await burrow.get(dest.sandboxId);
    await uploadTree(
      sandbox,
      source.path,
      await remoteTarget(sandbox, dest.path, source.path),
      basename(source.path),
    );
  } else if (source.kind === 'remote' && dest.kind === 'local') {
    const sandbox = await burrow.get(source.sandboxId);
    await downloadTree(
      sandbox,
      source.path,
      await localTarget(dest.path, source.path),
      posix.basename(source.path),
    );
  } else {
    throw new UsageError(
      'cp copies between this machine and a sandbox: exactly one side must be <id>:<path>',
    );
  }
}

export function registerCp(program: Command): void {
  program
    .command('cp')
    .description('copy files or directories between this machine and a sandbox')
    .argument('<source>', 'local path, or <id>:<absolute path>')
    .argument('<dest>', 'local path, or <id>:<absolute path>')
    .addHelpText(
      'after',
      `
Directories are copied recursively. Copying into an existing directory (or a path ending in /) puts the source
inside it, like cp. Transfers stream (any size); a progress bar shows on a terminal for more than 1 MiB.

Examples:
  burrow cp ./project $ID:/home/sandbox/          # -> /home/sandbox/project
  burrow cp $ID:/tmp/results.csv .
  burrow cp $ID:/home/sandbox/project/out ./out`,
    )
    .action(async (from: string, to: string, _flags: unknown, command: Command) => {
      await copy(clientFor(command), from, to);
    });
}
