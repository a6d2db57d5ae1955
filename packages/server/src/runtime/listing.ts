import { BurrowError } from '@burrow/protocol';
import { DEFAULT_MAX_LIST_ENTRIES, type DirListing, type FileInfo, type ListOptions } from './runtime.js';

/** The checked entry limit of a listing. */
export function listLimit(options: ListOptions = {}): number {
  const max = options.maxEntries ?? DEFAULT_MAX_LIST_ENTRIES;
  if (!Number.isInteger(max) || max < 1) {
    throw new BurrowError('VALIDATION_FAILED', 'the listing limit must be a whole number of at least 1');
  }
  return max;
}

/** The first `max` entries, marked truncated when there were more. */
export function capListing(entries: FileInfo[], max: number): DirListing {
  return entries.length > max
    ? { entries: entries.slice(0, max), truncated: true }
    : { entries, truncated: false };
}
