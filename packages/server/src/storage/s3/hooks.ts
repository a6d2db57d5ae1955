/**
 * The `hooks` S3 mode: after a sandbox is created, every object under the prefix is downloaded into `sync_path`
 * (default /home/sandbox); before it is destroyed, every regular file under `sync_path` is uploaded back to prefix +
 * relative path. Each run returns and logs a {@link SyncReport}; failures never throw (a sync problem must not fail
 * the create or block the destroy) but are all reported. A run has a time budget: default 5 minutes, and callers on
 * shutdown or reaping should pass a shorter one.
 */
import type { Logger } from '../../logger.js';
import type { Runtime, S3SyncConfig } from '../../runtime/runtime.js';
import { sandboxPathString } from '../../runtime/paths.js';
import {
  emptySummary,
  exportDirectory,
  importPrefix,
  type BulkTransferOptions,
  type TransferFailure,
  type TransferSkip,
  type TransferSummary,
} from './bulk-transfer.js';
import type { S3Connection } from './client.js';

export const DEFAULT_SYNC_PATH = '/home/sandbox';
export const DEFAULT_SYNC_BUDGET_MS = 5 * 60_000;
/** How many failures and skips a log line lists in full (the report keeps the first 1000 of each, and counts). */
const LOGGED_ITEMS = 20;

export type SyncDirection = 'download' | 'upload';

export interface SyncReport {
  direction: SyncDirection;
  sandboxId: string;
  bucket: string;
  prefix: string;
  syncPath: string;
  startedAt: Date;
  finishedAt: Date;
  objects: number;
  bytes: number;
  /** The first 1000 failures; `failureCount` counts them all. */
  failures: TransferFailure[];
  failureCount: number;
  /** The first 1000 skips; `skippedCount` counts them all. */
  skipped: TransferSkip[];
  skippedCount: number;
  /** The time budget ran out (or the run was cancelled) before everything was transferred. */
  timedOut: boolean;
}

export interface S3HooksOptions {
  logger: Logger;
  /** Time budget per run; default 5 minutes. */
  budgetMs?: number;
  /** Transfers in flight at once; default 8. */
  concurrency?: number;
  /** Objects and files larger than this are skipped (and reported); default 5 GiB. */
  maxObjectBytes?: number;
  /**
   * How long a run may take to wind down once its budget is spent before it is abandoned (reported as timed out,
   * the destroy it belongs to proceeds); default 10 s. Transfers stop at the budget, but a sandbox that never
   * answers a listing or a read would otherwise hold the run, and the destroy, forever.
   */
  abandonGraceMs?: number;
  now?: () => Date;
}

export const DEFAULT_ABANDON_GRACE_MS = 10_000;

/** Resolves `graceMs` after `signal` aborts; `cancel()` stops waiting. */
function afterAbort(signal: AbortSignal, graceMs: number): { late: Promise<'late'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => undefined;
  const late = new Promise<'late'>((resolve) => {
    onAbort = () => (timer = setTimeout(() => resolve('late'), graceMs));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    late,
    cancel: () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}

export interface SyncRunOptions {
  /** Overrides the hooks' budget for this run (e.g. a short one during shutdown). */
  budgetMs?: number;
  signal?: AbortSignal;
}

export class S3Hooks {
  private readonly logger: Logger;
  private readonly budgetMs: number;
  private readonly transfer: BulkTransferOptions;
  private readonly abandonGraceMs: number;
  private readonly now: () => Date;

  constructor(options: S3HooksOptions) {
    this.logger = options.logger;
    this.budgetMs = options.budgetMs ?? DEFAULT_SYNC_BUDGET_MS;
    this.transfer = {
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.maxObjectBytes === undefined ? {} : { maxBytes: options.maxObjectBytes }),
    };
    this.abandonGraceMs = options.abandonGraceMs ?? DEFAULT_ABANDON_GRACE_MS;
    this.now = options.now ?? (() => new Date());
  }

  /** After create: every object under the prefix into sync_path. */
  download(
    runtime: Runtime,
    sandboxId: string,
    config: S3SyncConfig,
    connection: S3Connection,
    options: SyncRunOptions = {},
  ): Promise<SyncReport> {
    return this.run('download', sandboxId, config, options, (syncPath, transfer) =>
      importPrefix(
        runtime,
        sandboxId,
        { bucket: config.bucket, prefix: config.prefix ?? '', destDir: syncPath },
        connection,
        transfer,
      ),
    );
  }

  /** Before destroy: every regular file under sync_path to prefix + relative path. */
  upload(
    runtime: Runtime,
    sandboxId: string,
    config: S3SyncConfig,
    connection: S3Connection,
    options: SyncRunOptions = {},
  ): Promise<SyncReport> {
    return this.run('upload', sandboxId, config, options, (syncPath, transfer) =>
      exportDirectory(
        runtime,
        sandboxId,
        { sourceDir: syncPath, bucket: config.bucket, prefix: config.prefix ?? '' },
        connection,
        transfer,
      ),
    );
  }

  private async run(
    direction: SyncDirection,
    sandboxId: string,
    config: S3SyncConfig,
    options: SyncRunOptions,
    transfer: (syncPath: string, options: BulkTransferOptions) => Promise<TransferSummary>,
  ): Promise<SyncReport> {
    const startedAt = this.now();
    const budget = AbortSignal.timeout(options.budgetMs ?? this.budgetMs);
    const signal = options.signal === undefined ? budget : AbortSignal.any([budget, options.signal]);
    const prefix = config.prefix ?? '';
    let syncPath =
      config.syncPath === undefined || config.syncPath === '' ? DEFAULT_SYNC_PATH : config.syncPath;
    let summary: TransferSummary;
    const deadline = afterAbort(signal, this.abandonGraceMs);
    try {
      syncPath = sandboxPathString(syncPath, 'storage.s3.sync_path');
      const work = transfer(syncPath, { ...this.transfer, signal });
      work.catch(() => undefined); // an abandoned run may still fail later, with nobody listening
      const outcome = await Promise.race([work, deadline.late]);
      if (outcome === 'late') {
        const where = direction === 'download' ? { key: prefix } : { path: syncPath };
        const budget = options.budgetMs ?? this.budgetMs;
        summary = {
          ...emptySummary(),
          failures: [
            {
              ...where,
              code: 'TIMEOUT',
              error: `the run did not end within its time budget of ${budget} ms: the sandbox stopped answering, and the run was abandoned`,
            },
          ],
          failureCount: 1,
          aborted: true,
        };
      } else summary = outcome;
    } catch (error) {
      // The run could not start or list at all (missing bucket, denied, sync_path missing): one failure for the run.
      const failure =
        error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : 'INTERNAL';
      const where = direction === 'download' ? { key: prefix } : { path: syncPath };
      summary = {
        ...emptySummary(),
        failures: [
          { ...where, code: failure, error: error instanceof Error ? error.message : String(error) },
        ],
        failureCount: 1,
        aborted: signal.aborted,
      };
    } finally {
      deadline.cancel();
    }
    const report: SyncReport = {
      direction,
      sandboxId,
      bucket: config.bucket,
      prefix,
      syncPath,
      startedAt,
      finishedAt: this.now(),
      objects: summary.objects,
      bytes: summary.bytes,
      failures: summary.failures,
      failureCount: summary.failureCount,
      skipped: summary.skipped,
      skippedCount: summary.skippedCount,
      timedOut: summary.aborted,
    };
    this.log(report);
    return report;
  }

  private log(report: SyncReport): void {
    const details = {
      sandboxId: report.sandboxId,
      direction: report.direction,
      bucket: report.bucket,
      prefix: report.prefix,
      syncPath: report.syncPath,
      objects: report.objects,
      bytes: report.bytes,
      durationMs: report.finishedAt.getTime() - report.startedAt.getTime(),
      failureCount: report.failureCount,
      skippedCount: report.skippedCount,
      timedOut: report.timedOut,
      failures: report.failures.slice(0, LOGGED_ITEMS),
      skipped: report.skipped.slice(0, LOGGED_ITEMS),
    };
    if (report.failureCount > 0 || report.timedOut)
      this.logger.warn(details, `S3 ${report.direction} finished with problems`);
    else this.logger.info(details, `S3 ${report.direction} finished`);
  }
}
