import type { FileInfo } from '../runtime.js';

/** A file's metadata as the agent sends it (the stat record of agent/PROTOCOL.md). */
export interface StatRecord {
  mode: number;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  name: Buffer;
  linkTarget: Buffer;
}

const S_IFMT = 0o170000;
const TYPE_CHARS: Record<number, string> = {
  0o140000: 's',
  0o120000: 'l',
  0o100000: '-',
  0o060000: 'b',
  0o040000: 'd',
  0o020000: 'c',
  0o010000: 'p',
};

/** `ls -l` style mode string, e.g. `drwxr-xr-x`, `-rwsr-xr-x`, `drwxrwxrwt`. */
export function modeString(mode: number): string {
  const type = TYPE_CHARS[mode & S_IFMT] ?? '?';
  const triplet = (shift: number, special: number, specialChar: string) => {
    const bits = (mode >> shift) & 7;
    const execute = (bits & 1) !== 0;
    const isSpecial = (mode & special) !== 0;
    const x = isSpecial ? (execute ? specialChar : specialChar.toUpperCase()) : execute ? 'x' : '-';
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${x}`;
  };
  return type + triplet(6, 0o4000, 's') + triplet(3, 0o2000, 's') + triplet(0, 0o1000, 't');
}

export function fileInfoFromStat(record: StatRecord, path: Uint8Array): FileInfo {
  const type = record.mode & S_IFMT;
  const isSymlink = type === 0o120000;
  const info: FileInfo = {
    name: record.name.toString('utf8'),
    path: Buffer.from(path).toString('utf8'),
    size: record.size,
    mode: modeString(record.mode),
    modTime: new Date(record.mtimeSec * 1000 + Math.floor(record.mtimeNsec / 1e6)),
    isDir: type === 0o040000,
    isSymlink,
  };
  if (isSymlink) info.linkTarget = record.linkTarget.toString('utf8');
  return info;
}
