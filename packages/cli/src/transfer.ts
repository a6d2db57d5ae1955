/**
 * Copying files and directory trees between this machine and a sandbox, one streamed transfer per file (never a
 * whole file in memory), with an aggregate progress bar.
 */
import { mkdir, readdir, lstat } from 'node:fs/promises';
import { isAbsolute, join, posix, relative as relativePath, resolve, sep } from 'node:path';
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

/**
 * A directory entry's name as the server reported it. It comes from inside a sandbox (or from whatever answers as the
 * server), so it is checked before it names anything on this machine: no separator, no NUL, not empty, `.` or `..`.
 */
export function checkRemoteName(name: string, directory: string): string {
  const separator = name.includes('/') || (sep === '\\' && name.includes('\\'));
  if (name === '' || name === '.' || name === '..' || separator || name.includes('\0')) {
    throw new Error(
      `refusing the name ${JSON.stringify(name)} that the server listed in ${directory}: ` +
        'a file name may not be empty, "." or "..", nor contain "/" or NUL (nothing was written for it)',
    );
  }
  return name;
}

/** `relative` under `root` on this machine; throws if it would land anywhere else. */
export function localPathUnder(root: string, relative: string): string {
  const base = resolve(root);
  const target = resolve(base, relative);
  const inside = relativePath(base, target);
  const escapes = inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside);
  if (!escapes) return target;
  throw new Error(`refusing to write ${target}: it is outside the target directory ${base}`);
}

/** Directories deeper than this under the copied one are not walked: a server could report an endless tree. */
const MAX_REMOTE_DEPTH = 256;

async function walkRemote(
  sandbox: Sandbox,
  root: string,
  relative = '',
  tree: Tree = { dirs: [''], files: [] },
  depth = 0,
): Promise<Tree> {
  const directory = relative === '' ? root : posix.join(root, relative);
  if (depth > MAX_REMOTE_DEPTH)
    throw new Error(`${directory} is nested more than ${MAX_REMOTE_DEPTH} directories deep: not copied`);
  const listing = await sandbox.files.listEntries(directory);
  if (listing.truncated)
    throw new Error(
      `${directory} has more entries than the server lists at once (${listing.entries.length}): copy its parts separately`,
    );
  for (const entry of listing.entries) {
    const name = checkRemoteName(entry.name, directory);
    const path = relative === '' ? name : `${relative}/${name}`;
    if (entry.isSymlink === true) warn(`skipping ${posix.join(root, path)}: symbolic link`);
    else if (entry.isDir) {
      tree.dirs.push(path);
      await walkRemote(sandbox, root, path, tree, depth + 1);
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
  // Every local path is checked to stay under the target before anything is written.
  const dirs = tree.dirs.map((dir) => (dir === '' ? local : localPathUnder(local, dir)));
  const files = tree.files.map((file) => ({
    ...file,
    target: file.relative === '' ? local : localPathUnder(local, file.relative),
  }));
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  await eachLimited(files, CONCURRENCY, async (file) => {
    const source = file.relative === '' ? remote : posix.join(remote, file.relative);
    const target = file.target;
    await sandbox.files.download(source, target, { onProgress: fileProgress(bar) });
  });
  bar.finish();
  return tree.files.length;
}
