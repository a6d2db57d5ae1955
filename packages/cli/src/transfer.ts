/**
 * Copying files and directory trees between this machine and a sandbox, one streamed transfer per file (never a
 * whole file in memory), with an aggregate progress bar.
 */
import { mkdir, readdir, lstat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Sandbox } from '@burrow/sdk';
import { createProgressBar, type ProgressBar } from './progress.js';

interface Entry {
  /** Path relative to the copied root ('' for the root itself). */
  relative: string;
  size: number;
}

interface Tree {
  dirs: string[];
  files: Entry[];
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function warn(message: string): void {
  process.stderr.write(`burrow: ${message}\n`);
}

async function walkLocal(root: string, relative = '', tree: Tree = { dirs: [''], files: [] }): Promise<Tree> {
  for (const entry of await readdir(join(root, relative), { withFileTypes: true })) {
    const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      tree.dirs.push(path);
      await walkLocal(root, path, tree);
    } else if (entry.isFile()) {
      tree.files.push({ relative: path, size: (await lstat(join(root, path))).size });
    } else {
      warn(`skipping ${join(root, path)}: not a regular file or directory`);
    }
  }
  return tree;
}

async function walkRemote(
  sandbox: Sandbox,
  root: string,
  relative = '',
  tree: Tree = { dirs: [''], files: [] },
): Promise<Tree> {
  for (const entry of await sandbox.files.list(relative === '' ? root : posix.join(root, relative))) {
    if (entry.name === '.' || entry.name === '..') continue;
    const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
    if (entry.isSymlink === true) warn(`skipping ${posix.join(root, path)}: symbolic link`);
    else if (entry.isDir) {
      tree.dirs.push(path);
      await walkRemote(sandbox, root, path, tree);
    } else tree.files.push({ relative: path, size: entry.size });
  }
  return tree;
}

/** Feeds per-file cumulative progress into one bar. */
function fileProgress(bar: ProgressBar): (transferred: number) => void {
  let seen = 0;
  return (transferred) => {
    bar.add(transferred - seen);
    seen = transferred;
  };
}

const CONCURRENCY = 4;

/** Copies a local file or directory to `remote` (the final path); returns the number of files copied. */
export async function uploadTree(
  sandbox: Sandbox,
  local: string,
  remote: string,
  label: string,
): Promise<number> {
  const info = await lstat(local);
  const tree: Tree = info.isDirectory()
    ? await walkLocal(local)
    : { dirs: [], files: [{ relative: '', size: info.size }] };
  const bar = createProgressBar({ label, total: tree.files.reduce((sum, file) => sum + file.size, 0) });
  for (const dir of tree.dirs) await sandbox.files.mkdir(dir === '' ? remote : posix.join(remote, dir));
  await eachLimited(tree.files, CONCURRENCY, async (file) => {
    const source = file.relative === '' ? local : join(local, file.relative);
    const target = file.relative === '' ? remote : posix.join(remote, file.relative);
    await sandbox.files.upload(source, target, { onProgress: fileProgress(bar) });
  });
  bar.finish();
  return tree.files.length;
}

/** Copies a sandbox file or directory to `local` (the final path); returns the number of files copied. */
export async function downloadTree(
  sandbox: Sandbox,
  remote: string,
  local: string,
  label: string,
): Promise<number> {
  const info = await sandbox.files.stat(remote);
  const tree: Tree = info.isDir
    ? await walkRemote(sandbox, remote)
    : { dirs: [], files: [{ relative: '', size: info.size }] };
  const bar = createProgressBar({ label, total: tree.files.reduce((sum, file) => sum + file.size, 0) });
  for (const dir of tree.dirs) await mkdir(dir === '' ? local : join(local, dir), { recursive: true });
  await eachLimited(tree.files, CONCURRENCY, async (file) => {
    const source = file.relative === '' ? remote : posix.join(remote, file.relative);
    const target = file.relative === '' ? local : join(local, file.relative);
    await sandbox.files.download(source, target, { onProgress: fileProgress(bar) });
  });
  bar.finish();
  return tree.files.length;
}
