import { BurrowError } from '@burrow/protocol';
import type { TmpfsMount } from '../runtime/runtime.js';
import { sandboxPathString } from '../runtime/paths.js';

/** The tmpfs mounts every sandbox gets unless its configuration overrides them by path. */
export const DEFAULT_TMPFS: readonly TmpfsMount[] = [
  { path: '/tmp', size: '256m' },
  { path: '/home/sandbox', size: '512m' },
  { path: '/run', size: '64m' },
  { path: '/var/tmp', size: '128m' },
];

export const DEFAULT_TMPFS_OPTIONS = 'rw,noexec,nosuid';
const MAX_TMPFS_BYTES = 4 * 1024 ** 3;
const ALLOWED_OPTIONS = new Set(['rw', 'ro', 'noexec', 'exec', 'nosuid', 'suid', 'nodev', 'dev']);
const UNITS: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses `<n>[kmg]` (case-insensitive) into bytes; refuses zero and more than 4g. */
export function parseTmpfsSize(size: string, path: string): number {
  const match = /^(\d+)([kmg])$/i.exec(size.trim());
  const unit = match?.[2]?.toLowerCase();
  if (match === null || unit === undefined) {
    throw new BurrowError(
      'POLICY_VIOLATION',
      `storage.tmpfs ${path}: size "${size}" is not valid: use a number with k, m or g, e.g. 256m`,
    );
  }
  const bytes = Number(match[1]) * (UNITS[unit] ?? 1);
  if (bytes <= 0)
    throw new BurrowError('POLICY_VIOLATION', `storage.tmpfs ${path}: size must be greater than 0`);
  if (bytes > MAX_TMPFS_BYTES) {
    throw new BurrowError('POLICY_VIOLATION', `storage.tmpfs ${path}: size "${size}" exceeds the 4g maximum`);
  }
  return bytes;
}

function checkOptions(options: string, path: string): string[] {
  const list = options
    .split(',')
    .map((option) => option.trim())
    .filter((option) => option.length > 0);
  for (const option of list) {
    if (!ALLOWED_OPTIONS.has(option) && !option.startsWith('size=')) {
      throw new BurrowError(
        'POLICY_VIOLATION',
        `storage.tmpfs ${path}: option "${option}" is not allowed; allowed: ${[...ALLOWED_OPTIONS].join(', ')}`,
      );
    }
  }
  return list.filter((option) => !option.startsWith('size='));
}

/** Validates one mount and returns its Docker option string (`rw,noexec,nosuid,size=256m`). */
export function tmpfsOptionString(mount: TmpfsMount): string {
  const path = sandboxPathString(mount.path, 'storage.tmpfs path');
  parseTmpfsSize(mount.size, path);
  const options = checkOptions(mount.options ?? DEFAULT_TMPFS_OPTIONS, path);
  return [...options, `size=${mount.size.trim().toLowerCase()}`].join(',');
}

/** Defaults overridden or extended, by path, with the sandbox's own mounts; validated. */
export function mergeTmpfs(
  defaults: readonly TmpfsMount[],
  mounts: readonly TmpfsMount[] = [],
): TmpfsMount[] {
  const byPath = new Map<string, TmpfsMount>();
  for (const mount of [...defaults, ...mounts]) {
    const path = sandboxPathString(mount.path, 'storage.tmpfs path');
    tmpfsOptionString(mount);
    byPath.set(path, { ...mount, path });
  }
  return [...byPath.values()];
}

export function tmpfsBytes(mount: TmpfsMount): number {
  return parseTmpfsSize(mount.size, mount.path);
}
