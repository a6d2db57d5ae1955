/** Burrow's file facts in envd's shapes: EntryInfo for Connect, and the REST form /files answers with. */
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { posix } from 'node:path';
import type { FileInfo } from '../../runtime/runtime.js';
import { EntryInfoSchema, FileType, type EntryInfo } from '../gen/filesystem/filesystem_pb.js';

const PERMISSION_BITS: [number, string, number][] = [
  [1, 'r', 0o400],
  [2, 'w', 0o200],
  [4, 'r', 0o40],
  [5, 'w', 0o20],
  [7, 'r', 0o4],
  [8, 'w', 0o2],
];

/** Permission bits (with setuid, setgid and sticky) from `ls -l`'s symbolic mode, e.g. `-rwsr-xr-t`. */
export function modeBits(symbolic: string): number {
  let bits = 0;
  for (const [at, char, bit] of PERMISSION_BITS) if (symbolic[at] === char) bits |= bit;
  const exec: [number, number, number][] = [
    [3, 0o100, 0o4000],
    [6, 0o10, 0o2000],
    [9, 0o1, 0o1000],
  ];
  for (const [at, bit, special] of exec) {
    const char = symbolic[at] ?? '-';
    if (char === 'x' || char === 's' || char === 't') bits |= bit;
    if (char === 's' || char === 'S' || char === 't' || char === 'T') bits |= special;
  }
  return bits;
}

function fileType(info: FileInfo): FileType {
  if (info.isSymlink) return FileType.SYMLINK;
  return info.isDir ? FileType.DIRECTORY : FileType.FILE;
}

/** EntryInfo of a file at `path` (absolute, as the sandbox sees it). Owner and group are not known here. */
export function entryInfo(info: FileInfo, path: string): EntryInfo {
  const entry = create(EntryInfoSchema, {
    name: posix.basename(path) || info.name,
    type: fileType(info),
    path,
    size: BigInt(Math.max(0, Math.trunc(info.size))),
    mode: modeBits(info.mode),
    permissions: info.mode,
    owner: '',
    group: '',
    modifiedTime: timestampFromMs(info.modTime.getTime()),
  });
  if (info.isSymlink && info.linkTarget !== undefined) entry.symlinkTarget = info.linkTarget;
  return entry;
}

/** The REST form of a written file in /files answers. */
export interface RestEntry {
  name: string;
  type: 'file' | 'dir';
  path: string;
}

export function restEntry(path: string, isDir = false): RestEntry {
  return { name: posix.basename(path), type: isDir ? 'dir' : 'file', path };
}
