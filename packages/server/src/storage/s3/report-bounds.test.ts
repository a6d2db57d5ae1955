/**
 * A directory transfer's report stays bounded whatever the sandbox holds: at most 1000 failures and 1000 skips are
 * kept (the counts stay exact), a huge directory is read only up to a limit, and the walk queues a bounded number
 * of directories.
 */
import { describe, expect, it } from 'vitest';
import type { FileInfo, ListOptions, Runtime } from '../../runtime/runtime.js';
import { exportDirectory, MAX_REPORT_ITEMS, MAX_WALK_ENTRIES_PER_DIRECTORY } from './bulk-transfer.js';
import type { S3Connection } from './client.js';

function entry(name: string, kind: 'symlink' | 'fifo' | 'dir'): FileInfo {
  return {
    name,
    path: `/data/${name}`,
    size: 0,
    mode: kind === 'symlink' ? 'lrwxrwxrwx' : kind === 'dir' ? 'drwxr-xr-x' : 'prw-r--r--',
    modTime: new Date(0),
    isDir: kind === 'dir',
    isSymlink: kind === 'symlink',
  };
}

/** A sandbox whose /data holds `count` entries made by `make`; every other directory is empty. */
function hostileRuntime(count: number, make: (index: number) => FileInfo) {
  const asked: (number | undefined)[] = [];
  const runtime = {
    listDir: (_id: string, path: string, options?: ListOptions) => {
      asked.push(options?.maxEntries);
      if (path !== '/data') return Promise.resolve({ entries: [], truncated: false });
      const limit = Math.min(count, options?.maxEntries ?? Infinity);
      const entries = Array.from({ length: limit }, (_, index) => make(index));
      return Promise.resolve({ entries, truncated: count > limit });
    },
  } as unknown as Runtime;
  return { runtime, asked };
}

const connection = {} as S3Connection;

describe('directory transfer reports', () => {
  it('keep the first 1000 skips of 5000 symlinks and count them all', async () => {
    const { runtime } = hostileRuntime(5000, (index) => entry(`link${index}`, 'symlink'));
    const summary = await exportDirectory(
      runtime,
      'sb',
      { sourceDir: '/data', bucket: 'bkt', prefix: '' },
      connection,
    );
    expect(summary.skippedCount).toBe(5000);
    expect(summary.skipped).toHaveLength(MAX_REPORT_ITEMS);
    expect(summary.objects).toBe(0);
  });

  it('read a huge directory only up to the walk limit, and say so', async () => {
    const { runtime, asked } = hostileRuntime(10_000_000, (index) => entry(`f${index}`, 'fifo'));
    const summary = await exportDirectory(
      runtime,
      'sb',
      { sourceDir: '/data', bucket: 'bkt', prefix: '' },
      connection,
    );
    expect(asked[0]).toBe(MAX_WALK_ENTRIES_PER_DIRECTORY);
    // The entries read are skipped (FIFOs); the cut directory is a failure naming it.
    expect(summary.skippedCount).toBe(MAX_WALK_ENTRIES_PER_DIRECTORY);
    expect(summary.skipped).toHaveLength(MAX_REPORT_ITEMS);
    expect(summary.failures).toMatchObject([{ path: '/data', code: 'PAYLOAD_TOO_LARGE' }]);
    expect(summary.failures[0]?.error).toMatch(/more than 100000 entries/);
  });
});
