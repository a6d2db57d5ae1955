/**
 * Whole-tree transfers (a Burrow extension, also used by the `hooks` mode): every object under a prefix into a
 * sandbox directory, and every regular file under a sandbox directory to prefix + relative path. Listing is fully
 * paginated (no 1000-object cap), transfers run with bounded parallelism, and each object's failure or reason for
 * being skipped is reported rather than swallowed.
 */
import { paginateListObjectsV2, type _Object } from '@aws-sdk/client-s3';
import { isBurrowError } from '@burrow/protocol';
import type { FileInfo, Runtime } from '../../runtime/runtime.js';
import { sandboxPathString } from '../../runtime/paths.js';
import type { S3Connection } from './client.js';
import { directoryPrefix, objectKey, relativePathForKey } from './keys.js';
import { forEachConcurrent } from './pool.js';
import { DEFAULT_MAX_TRANSFER_BYTES, exportObject, importObject, type TransferOptions } from './transfer.js';

export const DEFAULT_CONCURRENCY = 8;
/** Directories nested deeper than this under the synced directory are not walked (and reported). */
export const MAX_WALK_DEPTH = 64;
/**
 * A report keeps this many failures and this many skips (the counts stay exact), so a sandbox holding millions of
 * symlinks or unreadable files cannot grow a report, the store or a response without bound.
 */
export const MAX_REPORT_ITEMS = 1000;
/** Entries read from one directory of a walk; a larger directory is cut there (and reported). */
export const MAX_WALK_ENTRIES_PER_DIRECTORY = 100_000;
/** Directories a walk queues at once; deeper parts of a wider tree are left out (and reported). */
export const MAX_WALK_PENDING_DIRECTORIES = 100_000;

export interface TransferFailure {
  key?: string;
  path?: string;
  code: string;
  error: string;
}

export interface TransferSkip {
  key?: string;
  path?: string;
  reason: string;
}

export interface TransferSummary {
  /** Objects (import) or files (export) transferred. */
  objects: number;
  bytes: number;
  /** The first {@link MAX_REPORT_ITEMS} failures; `failureCount` counts them all. */
  failures: TransferFailure[];
  failureCount: number;
  /** The first {@link MAX_REPORT_ITEMS} skips; `skippedCount` counts them all. */
  skipped: TransferSkip[];
  skippedCount: number;
  /** The signal aborted (e.g. the time budget ran out) before everything was transferred. */
  aborted: boolean;
}

export function emptySummary(): TransferSummary {
  return {
    objects: 0,
    bytes: 0,
    failures: [],
    failureCount: 0,
    skipped: [],
    skippedCount: 0,
    aborted: false,
  };
}

export function addFailure(summary: TransferSummary, failure: TransferFailure): void {
  summary.failureCount += 1;
  if (summary.failures.length < MAX_REPORT_ITEMS) summary.failures.push(failure);
}

export function addSkip(summary: TransferSummary, skip: TransferSkip): void {
  summary.skippedCount += 1;
  if (summary.skipped.length < MAX_REPORT_ITEMS) summary.skipped.push(skip);
}

export interface BulkTransferOptions extends TransferOptions {
  /** Transfers in flight at once; default 8. */
  concurrency?: number;
}

function failureOf(error: unknown): { code: string; error: string } {
  if (isBurrowError(error)) return { code: error.code, error: error.message };
  return { code: 'INTERNAL', error: error instanceof Error ? error.message : String(error) };
}

function joinPath(directory: string, relative: string): string {
  return relative === '' ? directory : directory === '/' ? `/${relative}` : `${directory}/${relative}`;
}

async function* listObjects(
  connection: S3Connection,
  bucket: string,
  prefix: string,
  signal?: AbortSignal,
): AsyncGenerator<_Object> {
  const pages = paginateListObjectsV2(
    { client: connection.client, pageSize: 1000 },
    { Bucket: bucket, Prefix: prefix },
    ...(signal === undefined ? [] : [{ abortSignal: signal }]),
  );
  try {
    for await (const page of pages) yield* page.Contents ?? [];
  } catch (error) {
    throw connection.error(error, { bucket });
  }
}

export interface ImportPrefixInput {
  bucket: string;
  /** Key prefix, read as a directory (`data` means the keys under `data/`). */
  prefix: string;
  destDir: string;
}

/**
 * Downloads every object under `prefix` into `destDir`, keeping relative paths. Throws only when the listing itself
 * fails (missing bucket, access denied); per-object problems go into the summary.
 */
export async function importPrefix(
  runtime: Runtime,
  sandboxId: string,
  input: ImportPrefixInput,
  connection: S3Connection,
  options: BulkTransferOptions = {},
): Promise<TransferSummary> {
  const destDir = sandboxPathString(input.destDir, 'dest_path');
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
  const summary = emptySummary();
  const listing = directoryPrefix(input.prefix);
  await forEachConcurrent(
    listObjects(connection, input.bucket, listing, options.signal),
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async (object) => {
      const key = object.Key ?? '';
      const target = relativePathForKey(listing, key);
      if (target.kind === 'skip') {
        addSkip(summary, { key, reason: target.reason });
        return;
      }
      const path = joinPath(destDir, target.relative);
      try {
        if (target.kind === 'directory') {
          await runtime.mkdir(sandboxId, path);
          return;
        }
        if ((object.Size ?? 0) > maxBytes) {
          addSkip(summary, {
            key,
            path,
            reason: `the object is ${object.Size ?? 0} bytes, more than the limit of ${maxBytes} bytes`,
          });
          return;
        }
        const { bytes } = await importObject(
          runtime,
          sandboxId,
          { bucket: input.bucket, key, destPath: path },
          connection,
          options,
        );
        summary.objects += 1;
        summary.bytes += bytes;
      } catch (error) {
        addFailure(summary, { key, path, ...failureOf(error) });
      }
    },
    options.signal,
  );
  summary.aborted = options.signal?.aborted === true;
  return summary;
}

export interface ExportDirectoryInput {
  sourceDir: string;
  bucket: string;
  /** Key prefix, read as a directory (`data` + `a.txt` = `data/a.txt`). */
  prefix: string;
}

interface WalkedFile {
  path: string;
  relative: string;
  info: FileInfo;
}

/** Regular files under `root`, depth-first; symlinks and special files are reported as skipped, never followed. */
async function* walk(
  runtime: Runtime,
  sandboxId: string,
  root: string,
  summary: TransferSummary,
  signal?: AbortSignal,
): AsyncGenerator<WalkedFile> {
  const pending: Array<{ path: string; relative: string; depth: number }> = [
    { path: root, relative: '', depth: 0 },
  ];
  while (pending.length > 0 && signal?.aborted !== true) {
    const dir = pending.pop();
    if (dir === undefined) break;
    let entries: FileInfo[];
    try {
      const listing = await runtime.listDir(sandboxId, dir.path, {
        maxEntries: MAX_WALK_ENTRIES_PER_DIRECTORY,
      });
      entries = listing.entries;
      if (listing.truncated) {
        addFailure(summary, {
          path: dir.path,
          code: 'PAYLOAD_TOO_LARGE',
          error: `the directory has more than ${entries.length} entries: only the first ${entries.length} were taken`,
        });
      }
    } catch (error) {
      if (dir.depth === 0) throw error;
      addFailure(summary, { path: dir.path, ...failureOf(error) });
      continue;
    }
    for (const info of entries) {
      const path = joinPath(dir.path, info.name);
      const relative = dir.relative === '' ? info.name : `${dir.relative}/${info.name}`;
      if (info.isSymlink) addSkip(summary, { path, reason: 'symbolic link (not followed)' });
      else if (info.isDir) {
        if (dir.depth + 1 > MAX_WALK_DEPTH)
          addSkip(summary, { path, reason: `nested deeper than ${MAX_WALK_DEPTH} directories` });
        else if (pending.length >= MAX_WALK_PENDING_DIRECTORIES)
          addSkip(summary, {
            path,
            reason: `more than ${MAX_WALK_PENDING_DIRECTORIES} directories waiting to be read: not walked`,
          });
        else pending.push({ path, relative, depth: dir.depth + 1 });
      } else if (!info.mode.startsWith('-'))
        addSkip(summary, { path, reason: `not a regular file (mode ${info.mode})` });
      else yield { path, relative, info };
    }
  }
}

/**
 * Uploads every regular file under `sourceDir` to `prefix` + its relative path. Throws only when `sourceDir`
 * cannot be listed; per-file problems go into the summary.
 */
export async function exportDirectory(
  runtime: Runtime,
  sandboxId: string,
  input: ExportDirectoryInput,
  connection: S3Connection,
  options: BulkTransferOptions = {},
): Promise<TransferSummary> {
  const sourceDir = sandboxPathString(input.sourceDir, 'source_path');
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
  const summary = emptySummary();
  await forEachConcurrent(
    walk(runtime, sandboxId, sourceDir, summary, options.signal),
    options.concurrency ?? DEFAULT_CONCURRENCY,
    async (file) => {
      const key = objectKey(input.prefix, file.relative);
      if (file.info.size > maxBytes) {
        addSkip(summary, {
          key,
          path: file.path,
          reason: `the file is ${file.info.size} bytes, more than the limit of ${maxBytes} bytes`,
        });
        return;
      }
      try {
        const { bytes } = await exportObject(
          runtime,
          sandboxId,
          { sourcePath: file.path, bucket: input.bucket, key },
          connection,
          options,
        );
        summary.objects += 1;
        summary.bytes += bytes;
      } catch (error) {
        addFailure(summary, { key, path: file.path, ...failureOf(error) });
      }
    },
    options.signal,
  );
  summary.aborted = options.signal?.aborted === true;
  return summary;
}
