/**
 * Mapping between S3 keys under a prefix and paths under a sandbox directory. A prefix names a "directory":
 * `data`, `data/` and `data///` all mean the keys under `data/`, and relative paths are joined with exactly one `/`
 * (`data` + `a/b.txt` = `data/a/b.txt`; an empty prefix adds nothing). Keys that would land outside the target
 * directory (a `..` component, or an absolute remainder such as `data//etc/passwd`) are refused with a reason.
 */

/** The listing prefix for a "directory" prefix: '' stays '', anything else ends in exactly one `/`. */
export function directoryPrefix(prefix: string): string {
  if (prefix === '') return '';
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '/' : `${trimmed}/`;
}

/** The object key for a path relative to the synced directory (no leading `/`). */
export function objectKey(prefix: string, relative: string): string {
  const rel = relative.replace(/^\/+/, '');
  return `${directoryPrefix(prefix)}${rel}`;
}

export type KeyTarget =
  | { kind: 'file'; relative: string }
  | { kind: 'directory'; relative: string }
  | { kind: 'skip'; reason: string };

/** Where an object key lands relative to the target directory, or why it is skipped. */
export function relativePathForKey(prefix: string, key: string): KeyTarget {
  const listing = directoryPrefix(prefix);
  if (!key.startsWith(listing))
    return { kind: 'skip', reason: `the key is not under the prefix ${JSON.stringify(listing)}` };
  const rest = key.slice(listing.length);
  if (rest.startsWith('/'))
    return {
      kind: 'skip',
      reason:
        'the key continues with "/" after the prefix (an absolute path would escape the target directory)',
    };
  if (rest.includes('\0')) return { kind: 'skip', reason: 'the key contains a NUL byte' };
  const parts = rest.split('/');
  if (parts.includes('..'))
    return {
      kind: 'skip',
      reason: 'the key contains a ".." component (it would escape the target directory)',
    };
  const relative = parts.filter((part) => part !== '' && part !== '.').join('/');
  if (rest === '' || rest.endsWith('/') || relative === '') return { kind: 'directory', relative };
  return { kind: 'file', relative };
}
