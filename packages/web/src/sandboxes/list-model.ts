/** Filtering, sorting and windowing of the sandbox list: pure functions, so 500 rows cost what a few visible do. */
import type { SandboxInfo } from '@burrow/sdk';

export type SortKey = 'created' | 'status' | 'image' | 'expires' | 'id';
export interface Sort {
  key: SortKey;
  descending: boolean;
}

export interface Filter {
  /** Matches id, image, status and labels (`key=value` or either half), case-insensitively. */
  text: string;
  status: SandboxInfo['status'] | '';
}

function matches(info: SandboxInfo, needle: string): boolean {
  if (needle === '') return true;
  if (info.id.toLowerCase().includes(needle) || info.image.toLowerCase().includes(needle)) return true;
  if (info.status.includes(needle)) return true;
  return Object.entries(info.labels).some(([key, value]) => `${key}=${value}`.toLowerCase().includes(needle));
}

const STATUS_ORDER: Record<SandboxInfo['status'], number> = {
  running: 0,
  creating: 1,
  paused: 2,
  stopped: 3,
  error: 4,
};

function compare(a: SandboxInfo, b: SandboxInfo, key: SortKey): number {
  switch (key) {
    case 'created':
      return a.createdAt.getTime() - b.createdAt.getTime();
    case 'status':
      return STATUS_ORDER[a.status] - STATUS_ORDER[b.status];
    case 'image':
      return a.image.localeCompare(b.image);
    case 'expires':
      return (a.expiresAt?.getTime() ?? Infinity) - (b.expiresAt?.getTime() ?? Infinity);
    case 'id':
      return a.id.localeCompare(b.id);
  }
}

export function filterAndSort(items: readonly SandboxInfo[], filter: Filter, sort: Sort): SandboxInfo[] {
  const needle = filter.text.trim().toLowerCase();
  const kept = items.filter(
    (info) => (filter.status === '' || info.status === filter.status) && matches(info, needle),
  );
  const sign = sort.descending ? -1 : 1;
  // Ties fall back to the id so rows do not jump between polls.
  return kept.sort((a, b) => sign * compare(a, b, sort.key) || a.id.localeCompare(b.id));
}

export interface Window {
  /** First and one-past-last row to render. */
  start: number;
  end: number;
  /** Space standing in for the rows above and below. */
  padTop: number;
  padBottom: number;
}

/** The rows of a fixed-height list that a viewport of `height` at `scrollTop` shows, plus `overscan` each side. */
export function visibleWindow(
  count: number,
  rowHeight: number,
  scrollTop: number,
  height: number,
  overscan = 8,
): Window {
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + Math.ceil(height / rowHeight) + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: Math.max(0, count - end) * rowHeight };
}

export function countByStatus(items: readonly SandboxInfo[]): Record<SandboxInfo['status'], number> {
  const counts = { creating: 0, running: 0, paused: 0, stopped: 0, error: 0 };
  for (const info of items) counts[info.status] += 1;
  return counts;
}
