/**
 * The in-memory runtime's filesystem: what a sandbox's files look like from Burrow's side of a Docker sandbox, as
 * the runtime contract pins it. Files, directories and symlinks with owners and modes; tmpfs mounts with sizes
 * (NO_SPACE), the read-only root (READ_ONLY) and a non-root user's permissions (PERMISSION_DENIED). Paths are keys
 * of raw bytes (latin1 strings), so names that are not UTF-8 survive.
 */
import { BurrowError } from '@burrow/protocol';
import { modeString } from '../agent/stat-record.js';
import type { FileInfo } from '../runtime.js';

export type FsNode =
  | { kind: 'file'; data: Buffer; mode: number; mtime: Date; uid: number }
  | { kind: 'dir'; mode: number; mtime: Date; uid: number }
  | { kind: 'link'; target: string; mtime: Date; uid: number };

export interface FsMount {
  root: string;
  /** Size of a tmpfs mount; absent for volumes (no limit here). */
  bytes?: number;
  readOnly: boolean;
  tmpfs: boolean;
}

export interface FakeFsOptions {
  /** The user processes and file calls run as (0 is root, which may read and write anything writable). */
  uid: number;
  mounts: FsMount[];
  writableRootfs: boolean;
  /** Told of every change, as inotify would report it (file watching). */
  onChange?: (kind: 'create' | 'write' | 'remove', key: string, isDir: boolean) => void;
}

const KEY_ENCODING = 'latin1';
/** tmpfs accounts whole pages. */
const PAGE = 4096;
/** Linux's limit of symlinks followed while resolving one path. */
const MAX_LINKS = 40;

export function keyOf(bytes: Buffer): string {
  return bytes.toString(KEY_ENCODING);
}

export function display(key: string): string {
  return Buffer.from(key, KEY_ENCODING).toString('utf8');
}

function parentOf(key: string): string {
  const index = key.lastIndexOf('/');
  return index <= 0 ? '/' : key.slice(0, index);
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function within(key: string, root: string): boolean {
  return key === root || key.startsWith(root === '/' ? '/' : `${root}/`);
}

export function copyNodes(nodes: Map<string, FsNode>): Map<string, FsNode> {
  return new Map([...nodes].map(([key, node]) => [key, { ...node }]));
}

const fail = (code: ConstructorParameters<typeof BurrowError>[0], key: string, hint: string) =>
  new BurrowError(code, `${display(key)}: ${hint}`);

export class FakeFs {
  constructor(
    readonly nodes: Map<string, FsNode>,
    private readonly options: FakeFsOptions,
  ) {
    const now = new Date();
    for (const dir of ['/', '/etc'])
      if (!nodes.has(dir)) nodes.set(dir, { kind: 'dir', mode: 0o755, mtime: now, uid: 0 });
    for (const mount of options.mounts) {
      if (mount.tmpfs && !nodes.has(mount.root))
        nodes.set(mount.root, { kind: 'dir', mode: 0o1777, mtime: now, uid: 0 });
    }
  }

  get uid(): number {
    return this.options.uid;
  }

  /** A copy of every node (snapshots). */
  cloneNodes(): Map<string, FsNode> {
    return copyNodes(this.nodes);
  }

  /** Like tmpfs in a stopped container, the mounts come back empty. */
  clearTmpfs(): void {
    const roots = this.options.mounts.filter((mount) => mount.tmpfs).map((mount) => mount.root);
    for (const key of [...this.nodes.keys()])
      if (roots.some((root) => within(key, root) && key !== root)) this.nodes.delete(key);
  }

  /** Bytes of file data (stats). */
  usedBytes(): number {
    let sum = 0;
    for (const node of this.nodes.values()) if (node.kind === 'file') sum += node.data.length;
    return sum;
  }

  /** The key a path names once symlinks are followed (also in the last component when `followLast`). */
  resolve(key: string, followLast: boolean): string {
    let hops = 0;
    const walk = (path: string, follow: boolean): string => {
      const parts = path.split('/').filter((part) => part !== '' && part !== '.');
      let current = '/';
      for (const [index, part] of parts.entries()) {
        if (part === '..') {
          current = parentOf(current);
          continue;
        }
        const next = join(current, part);
        const node = this.nodes.get(next);
        const last = index === parts.length - 1;
        if (node?.kind === 'link' && (!last || follow)) {
          hops += 1;
          if (hops > MAX_LINKS) throw fail('BAD_REQUEST', key, 'too many levels of symbolic links');
          current = walk(node.target.startsWith('/') ? node.target : join(current, node.target), true);
        } else {
          if (!last && node !== undefined && node.kind !== 'dir')
            throw fail('NOT_A_DIRECTORY', key, 'a component of the path is not a directory');
          current = next;
        }
      }
      return current;
    };
    return walk(key, followLast);
  }

  private find(key: string, followLast: boolean): { resolved: string; node: FsNode } {
    const resolved = this.resolve(key, followLast);
    const node = this.nodes.get(resolved);
    if (node === undefined) throw fail('FILE_NOT_FOUND', key, 'no such file or directory');
    return { resolved, node };
  }

  private may(node: FsNode, bit: number): boolean {
    if (this.options.uid === 0) return true;
    const bits =
      node.kind === 'link' ? 7 : node.uid === this.options.uid ? (node.mode >> 6) & 7 : node.mode & 7;
    return (bits & bit) !== 0;
  }

  private check(node: FsNode, bit: number, key: string): void {
    if (!this.may(node, bit))
      throw fail('PERMISSION_DENIED', key, "permission denied for the sandbox's user");
  }

  private mountOf(key: string): FsMount | undefined {
    return this.options.mounts
      .filter((mount) => within(key, mount.root))
      .sort((a, b) => b.root.length - a.root.length)[0];
  }

  private writable(resolved: string, key: string): void {
    const mount = this.mountOf(resolved);
    if (mount === undefined ? this.options.writableRootfs : !mount.readOnly) return;
    throw fail(
      'READ_ONLY',
      key,
      'the path is on a read-only filesystem; write under /tmp, /home/sandbox or a volume, or create the sandbox with writable_rootfs',
    );
  }

  /** Creates missing parent directories of `resolved` (which has no symlinks) as the sandbox's user. */
  private makeParents(resolved: string, key: string): void {
    const parent = parentOf(resolved);
    if (parent === resolved) return;
    const existing = this.nodes.get(parent);
    if (existing?.kind === 'dir') {
      this.check(existing, 2, key);
      return;
    }
    if (existing !== undefined)
      throw fail('NOT_A_DIRECTORY', key, 'a component of the path is not a directory');
    this.makeParents(parent, key);
    this.writable(parent, key);
    this.nodes.set(parent, { kind: 'dir', mode: 0o755, mtime: new Date(), uid: this.options.uid });
    this.options.onChange?.('create', parent, true);
  }

  private pages(bytes: number): number {
    return Math.ceil(bytes / PAGE) * PAGE;
  }

  /** Refuses a write of `bytes` more than the mount holding `resolved` has room for (the old file still counts: a
   * backend writes a temporary file and renames it over the old one). */
  private checkSpace(resolved: string, bytes: number, key: string): void {
    const mount = this.mountOf(resolved);
    if (mount?.bytes === undefined) return;
    let used = 0;
    for (const [entry, node] of this.nodes)
      if (node.kind === 'file' && within(entry, mount.root)) used += this.pages(node.data.length);
    if (used + this.pages(bytes) > mount.bytes)
      throw fail('NO_SPACE', key, 'no space left on the filesystem holding the path');
  }

  info(key: string, node: FsNode): FileInfo {
    const type = node.kind === 'dir' ? 0o040000 : node.kind === 'link' ? 0o120000 : 0o100000;
    const info: FileInfo = {
      name: display(baseName(key)) || '/',
      path: display(key),
      size:
        node.kind === 'file'
          ? node.data.length
          : node.kind === 'link'
            ? Buffer.byteLength(node.target, KEY_ENCODING)
            : 4096,
      mode: modeString(type | (node.kind === 'link' ? 0o777 : node.mode)),
      modTime: node.mtime,
      isDir: node.kind === 'dir',
      isSymlink: node.kind === 'link',
    };
    if (node.kind === 'link') info.linkTarget = display(node.target);
    return info;
  }

  stat(key: string): FileInfo {
    return this.info(key, this.find(key, false).node);
  }

  readFile(key: string): { info: FileInfo; data: Buffer } {
    const { node } = this.find(key, true);
    if (node.kind === 'dir')
      throw fail('IS_A_DIRECTORY', key, 'the path is a directory; give the path of a file');
    if (node.kind !== 'file') throw fail('FILE_NOT_FOUND', key, 'no such file or directory');
    this.check(node, 4, key);
    return { info: this.info(key, node), data: node.data };
  }

  /** Checks a write of `key` before its data arrives (and creates missing parents, as the backends do). */
  prepareWrite(key: string): string {
    const resolved = this.resolve(key, true);
    if (this.nodes.get(resolved)?.kind === 'dir')
      throw fail('IS_A_DIRECTORY', key, 'the path is a directory; give the path of a file');
    this.writable(resolved, key);
    this.makeParents(resolved, key);
    return resolved;
  }

  /** Completes a write prepared by {@link prepareWrite}; an existing file keeps its mode. */
  commitWrite(resolved: string, key: string, data: Buffer, mode: number): void {
    this.checkSpace(resolved, data.length, key);
    const existing = this.nodes.get(resolved);
    this.nodes.set(resolved, {
      kind: 'file',
      data,
      mode: existing?.kind === 'file' ? existing.mode : mode,
      mtime: new Date(),
      uid: existing?.kind === 'file' ? existing.uid : this.options.uid,
    });
    // A real write lands in a temporary file renamed over the target: watchers see the name appear, a replaced
    // file included (inotify reports the rename as a create, as the agent's watch does).
    this.options.onChange?.('create', resolved, false);
  }

  list(key: string): FileInfo[] {
    const { resolved, node } = this.find(key, true);
    if (node.kind !== 'dir') throw fail('NOT_A_DIRECTORY', key, 'a component of the path is not a directory');
    this.check(node, 4, key);
    return [...this.nodes]
      .filter(([entry]) => entry !== resolved && parentOf(entry) === resolved)
      .map(([entry, child]) => this.info(join(key, baseName(entry)), child));
  }

  mkdir(key: string): void {
    const resolved = this.resolve(key, true);
    const existing = this.nodes.get(resolved);
    if (existing?.kind === 'dir') return;
    if (existing !== undefined) throw fail('ALREADY_EXISTS', key, 'the path exists and is not a directory');
    this.writable(resolved, key);
    this.makeParents(resolved, key);
    this.nodes.set(resolved, { kind: 'dir', mode: 0o755, mtime: new Date(), uid: this.options.uid });
    this.options.onChange?.('create', resolved, true);
  }

  remove(key: string): void {
    const { resolved } = this.find(key, false);
    this.writable(resolved, key);
    const parent = this.nodes.get(parentOf(resolved));
    if (parent !== undefined) this.check(parent, 2, key);
    // Deepest first, as a recursive remove deletes.
    const removed = [...this.nodes.keys()]
      .filter((entry) => within(entry, resolved))
      .sort()
      .reverse();
    for (const entry of removed) {
      const isDir = this.nodes.get(entry)?.kind === 'dir';
      this.nodes.delete(entry);
      this.options.onChange?.('remove', entry, isDir);
    }
  }

  /** What a path names, symlinks followed: a file or a directory (watching needs a directory). */
  kindOf(key: string): 'file' | 'dir' {
    const { node } = this.find(key, true);
    return node.kind === 'dir' ? 'dir' : 'file';
  }

  /** `ln -s target key`: an error text as the command would print it, or undefined. */
  symlink(target: string, key: string): string | undefined {
    try {
      const resolved = join(this.resolve(parentOf(key), true), baseName(key));
      if (this.nodes.has(resolved)) return 'File exists';
      this.writable(resolved, key);
      const parent = this.nodes.get(parentOf(resolved));
      if (parent?.kind !== 'dir') return 'No such file or directory';
      this.check(parent, 2, key);
      this.nodes.set(resolved, { kind: 'link', target, mtime: new Date(), uid: this.options.uid });
      this.options.onChange?.('create', resolved, false);
      return undefined;
    } catch (error) {
      return errorText(error);
    }
  }

  /** A file's bytes for a command (`cat`), or the error text the command prints. */
  readForCommand(key: string): Buffer | string {
    try {
      return this.readFile(key).data;
    } catch (error) {
      return errorText(error);
    }
  }
}

function errorText(error: unknown): string {
  if (!(error instanceof BurrowError)) throw error;
  if (error.code === 'PERMISSION_DENIED') return 'Permission denied';
  if (error.code === 'READ_ONLY') return 'Read-only file system';
  if (error.code === 'NOT_A_DIRECTORY') return 'Not a directory';
  if (error.code === 'IS_A_DIRECTORY') return 'Is a directory';
  return 'No such file or directory';
}
