/**
 * S3 in the engine: the three `storage.s3` modes wired into a sandbox's life, and the on-demand transfers.
 *
 * - `hooks`: before the sandbox is created, the bucket is checked (a missing bucket or refused keys fail the create
 *   with a 4xx before any container exists); after create, every object under the prefix is downloaded into
 *   `sync_path`; before destroy (DELETE, reaper, shutdown with destroy-on-exit), `sync_path` is uploaded back. A
 *   per-object failure never fails the create or blocks the destroy: every run's report is stored, logged and shown
 *   on the sandbox (`s3_sync`).
 * - `fuse`: the runtime binds a host directory at `mount_path` (slave propagation) and s3fs mounts the bucket on it
 *   as soon as the sandbox runs, before create or start returns; it is unmounted after stop and remove, mounted again
 *   after start and, after a server restart, by {@link S3Sync.reconcileMounts} (the running sandbox sees it again).
 * - `on_demand` (and any sandbox): `s3-import` / `s3-export` of one object, or of a whole prefix / directory.
 *
 * Every S3 client and mount goes through the SSRF policy: request-time endpoint checks, then dial-time pinning.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BurrowError, isBurrowError, isErrorCode } from '@burrow/protocol';
import type { Logger } from '../logger.js';
import type { FileInfo, Runtime, S3SyncConfig, SandboxConfig } from '../runtime/runtime.js';
import { sandboxPathString } from '../runtime/paths.js';
import {
  DEFAULT_MAX_TRANSFER_BYTES,
  S3Hooks,
  checkBucketName,
  describeResolvedS3,
  directoryPrefix,
  exportDirectory,
  exportObject,
  importObject,
  importPrefix,
  resolveS3,
  withS3Client,
  type ResolvedS3,
  type S3ClientOptions,
  type S3FuseMounts,
  type S3ServerConfig,
  type SsrfPolicy,
  type SyncDirection,
  type SyncReport,
  type TransferSkip,
  type TransferSummary,
} from '../storage/s3/index.js';
import type { SandboxRecord, SandboxStore } from '../store/store.js';

export type { TransferSkip };

/** Endpoint and keys a request may give; the server's `s3.*` settings fill in what it leaves out. */
export interface S3Target {
  endpoint?: string | undefined;
  accessKey?: string | undefined;
  secretKey?: string | undefined;
  region?: string | undefined;
}

export interface S3ImportInput extends S3Target {
  bucket?: string | undefined;
  /** One object; a key ending in `/` imports every object under it. */
  key?: string | undefined;
  /** Burrow: import every object under this prefix (`''` = the whole bucket) into `destPath` as a directory. */
  prefix?: string | undefined;
  destPath?: string | undefined;
}

export interface S3ExportInput extends S3Target {
  /** A file, or (Burrow) a directory whose regular files go to `key` + relative path. */
  sourcePath?: string | undefined;
  bucket?: string | undefined;
  key?: string | undefined;
}

export interface S3ImportResult {
  bytes: number;
  path: string;
  /** Directory imports: objects downloaded, and keys skipped with the reason (the first 1000; all counted). */
  objects?: number;
  skipped?: TransferSkip[];
  skippedCount?: number;
}

export interface S3ExportResult {
  bytes: number;
  key: string;
  /** Directory exports: files uploaded, and paths skipped with the reason (the first 1000; all counted). */
  objects?: number;
  skipped?: TransferSkip[];
  skippedCount?: number;
}

/** A stored sync report, as it reads back from the store (dates as RFC 3339 strings). */
export type StoredSyncReport = Omit<SyncReport, 'startedAt' | 'finishedAt'> & {
  startedAt: string;
  finishedAt: string;
};

export interface S3SyncOptions {
  runtime: Runtime;
  store: SandboxStore;
  server: S3ServerConfig;
  policy: SsrfPolicy;
  logger: Logger;
  /** `sandbox.allow_s3`: when off, the on-demand endpoints are refused too. */
  allowS3: boolean;
  /** Largest object or file one transfer moves (`s3.max_transfer_bytes`); default 5 GiB. */
  maxTransferBytes?: number;
  /** Time budget of one hooks run (`s3.sync_timeout`); default 5 minutes. */
  syncBudgetMs?: number;
  /** Transfers in flight at once in hooks runs and directory transfers; default 8. */
  concurrency?: number;
  /** Host-side s3fs mounts; without it, mode `fuse` is refused. */
  fuse?: S3FuseMounts;
  clientOptions?: S3ClientOptions;
}

interface ImportPlan {
  resolved: ResolvedS3;
  destPath: string;
  key: string;
  /** Set for directory imports: the prefix to list. */
  prefix: string | undefined;
}

interface ExportPlan {
  resolved: ResolvedS3;
  sourcePath: string;
  key: string;
}

function given(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

/** Den's `invalid dest_path: <reason>` / `invalid source_path: <reason>`. */
function checkedPath(path: string, field: string): string {
  try {
    return sandboxPathString(path, field);
  } catch (error) {
    if (isBurrowError(error))
      throw new BurrowError(error.code, `invalid ${field}: ${error.message}`, { field });
    throw error;
  }
}

/** What a sandbox's `storage.s3` asks for, as a request against the server configuration. */
function sandboxRequest(s3: S3SyncConfig) {
  return {
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    prefix: s3.prefix,
    region: s3.region,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
  };
}

const FAILED_KEYS_SHOWN = 20;

export class S3Sync {
  private readonly runtime: Runtime;
  private readonly store: SandboxStore;
  private readonly server: S3ServerConfig;
  private readonly policy: SsrfPolicy;
  private readonly logger: Logger;
  private readonly allowS3: boolean;
  private readonly maxBytes: number;
  private readonly concurrency: number | undefined;
  private readonly hooks: S3Hooks;
  private readonly fuse: S3FuseMounts | undefined;
  private readonly clientOptions: S3ClientOptions;
  private fuseCheck: Promise<{ ok: true } | { ok: false; reason: string }> | undefined;

  constructor(options: S3SyncOptions) {
    this.runtime = options.runtime;
    this.store = options.store;
    this.server = options.server;
    this.policy = options.policy;
    this.logger = options.logger;
    this.allowS3 = options.allowS3;
    this.maxBytes = options.maxTransferBytes ?? DEFAULT_MAX_TRANSFER_BYTES;
    this.concurrency = options.concurrency;
    this.fuse = options.fuse;
    this.clientOptions = options.clientOptions ?? {};
    this.hooks = new S3Hooks({
      logger: options.logger,
      maxObjectBytes: this.maxBytes,
      ...(options.syncBudgetMs === undefined ? {} : { budgetMs: options.syncBudgetMs }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    });
  }

  private transferOptions() {
    return {
      maxBytes: this.maxBytes,
      ...(this.concurrency === undefined ? {} : { concurrency: this.concurrency }),
    };
  }

  /** A sandbox's S3 target: its endpoint passes the request-time SSRF check, then credentials resolve (Gate B). */
  private async resolveSandbox(s3: S3SyncConfig): Promise<ResolvedS3> {
    await this.policy.checkRequestEndpoint(s3.endpoint);
    return resolveS3(sandboxRequest(s3), this.server);
  }

  // ---------------------------------------------------------------- lifecycle hooks

  /**
   * Before the runtime creates the sandbox. `hooks`: the bucket must answer a listing with these keys (else the
   * create fails with S3_NOT_FOUND / S3_ACCESS_DENIED / SSRF_BLOCKED / ..., before any container exists). `fuse`: the
   * bucket is mounted on the host and the configuration gains the bind of that mount.
   */
  async beforeCreate(id: string, config: SandboxConfig): Promise<SandboxConfig> {
    const s3 = config.storage?.s3;
    if (s3 === undefined || s3.mode === 'on_demand') return config;
    if (s3.mode === 'fuse') return this.prepareFuse(id, config, s3);
    const resolved = await this.resolveSandbox(s3);
    await withS3Client(
      resolved,
      this.policy,
      async (connection) => {
        try {
          await connection.client.send(
            new ListObjectsV2Command({
              Bucket: resolved.bucket,
              Prefix: directoryPrefix(resolved.prefix),
              MaxKeys: 1,
            }),
          );
        } catch (error) {
          throw connection.error(error, { bucket: resolved.bucket });
        }
      },
      this.clientOptions,
    );
    return config;
  }

  private async prepareFuse(id: string, config: SandboxConfig, s3: S3SyncConfig): Promise<SandboxConfig> {
    if (this.fuse === undefined) {
      throw new BurrowError(
        'NOT_SUPPORTED',
        'S3 mode "fuse" cannot work on this host: Burrow must run as root (with s3fs and fuse3 installed) to mount buckets',
      );
    }
    if (s3.mountPath === undefined || s3.mountPath === '') {
      throw new BurrowError('VALIDATION_FAILED', 'storage.s3.mount_path is required in mode "fuse"');
    }
    this.fuseCheck ??= this.fuse.available();
    const available = await this.fuseCheck;
    if (!available.ok) {
      this.fuseCheck = undefined; // an operator may fix the host without restarting Burrow
      throw new BurrowError('NOT_SUPPORTED', `S3 mode "fuse" cannot work on this host: ${available.reason}`);
    }
    // Credentials and the endpoint are checked now (a 4xx before any container exists); the mount follows the start.
    await this.resolveSandbox(s3);
    const hostDir = await this.fuse.prepare(id);
    return { ...config, s3FuseBind: { hostDir, mountPath: s3.mountPath } };
  }

  /** After create: `hooks` downloads the prefix into sync_path. */
  async afterCreate(sandbox: SandboxRecord): Promise<void> {
    const s3 = sandbox.config.storage?.s3;
    if (s3?.mode === 'hooks') await this.sync('download', sandbox.id, s3);
  }

  /** Before destroy of a running sandbox: `hooks` uploads sync_path to the prefix. */
  async beforeDestroy(sandbox: SandboxRecord): Promise<void> {
    const s3 = sandbox.config.storage?.s3;
    if (s3?.mode === 'hooks') await this.sync('upload', sandbox.id, s3);
  }

  /** After the runtime removed the sandbox (or a create failed): its FUSE mount goes. */
  async afterRemove(sandbox: SandboxRecord): Promise<void> {
    if (this.fuse !== undefined && sandbox.config.storage?.s3?.mode === 'fuse')
      await this.fuse.unmount(sandbox.id);
  }

  private fuseOf(sandbox: SandboxRecord): S3FuseMounts | undefined {
    if (sandbox.config.s3FuseBind === undefined) return undefined;
    if (this.fuse === undefined) {
      throw new BurrowError(
        'NOT_SUPPORTED',
        'this sandbox uses S3 mode "fuse", which needs Burrow to run as root with s3fs installed',
      );
    }
    return this.fuse;
  }

  /** Before a stopped sandbox starts: its mount directory is there (and empty) for the runtime to bind. */
  async beforeStart(sandbox: SandboxRecord): Promise<void> {
    await this.fuseOf(sandbox)?.prepare(sandbox.id);
  }

  /** Once the sandbox runs (after create or start): the bucket is mounted where the sandbox binds it. */
  async afterStart(sandbox: SandboxRecord): Promise<void> {
    const fuse = this.fuseOf(sandbox);
    const s3 = sandbox.config.storage?.s3;
    if (fuse === undefined || s3 === undefined) return;
    await fuse.mount(sandbox.id, await this.resolveSandbox(s3));
  }

  /** After stop: nothing uses the FUSE mount, so it goes (start mounts it again). */
  async afterStop(sandbox: SandboxRecord): Promise<void> {
    if (this.fuse !== undefined && sandbox.config.s3FuseBind !== undefined)
      await this.fuse.unmount(sandbox.id);
  }

  /**
   * After a server restart (and the runtime reconcile): every running `fuse` sandbox has a live mount (mounted again
   * if s3fs is gone; the sandbox sees it through propagation), and no mount is left for sandboxes that are stopped
   * or gone.
   */
  async reconcileMounts(
    sandboxes: readonly SandboxRecord[],
  ): Promise<{ mounted: string[]; unmounted: string[]; failed: string[] }> {
    const result = { mounted: [] as string[], unmounted: [] as string[], failed: [] as string[] };
    if (this.fuse === undefined) return result;
    const wanted = new Map(
      sandboxes
        .filter((sandbox) => sandbox.config.s3FuseBind !== undefined && sandbox.status === 'running')
        .map((s) => [s.id, s]),
    );
    for (const id of await this.fuse.list()) {
      if (wanted.has(id)) continue;
      try {
        await this.fuse.unmount(id);
        result.unmounted.push(id);
      } catch (error) {
        result.failed.push(id);
        this.logger.error({ err: error, sandbox: id }, 'could not unmount a stale S3 FUSE mount');
      }
    }
    for (const sandbox of wanted.values()) {
      const s3 = sandbox.config.storage?.s3;
      if (s3 === undefined) continue;
      try {
        await this.fuse.mount(sandbox.id, await this.resolveSandbox(s3));
        result.mounted.push(sandbox.id);
      } catch (error) {
        result.failed.push(sandbox.id);
        this.logger.error(
          { err: error, sandbox: sandbox.id },
          'could not mount the S3 bucket of a running sandbox again',
        );
      }
    }
    if (result.mounted.length + result.unmounted.length + result.failed.length > 0) {
      this.logger.info(result, 'reconciled S3 FUSE mounts');
    }
    return result;
  }

  /** One hooks run; its report is stored and logged (by S3Hooks), never thrown. */
  private async sync(direction: SyncDirection, sandboxId: string, s3: S3SyncConfig): Promise<SyncReport> {
    const startedAt = new Date();
    let report: SyncReport;
    try {
      const resolved = resolveS3(sandboxRequest(s3), this.server);
      report = await withS3Client(
        resolved,
        this.policy,
        (connection) =>
          direction === 'download'
            ? this.hooks.download(this.runtime, sandboxId, s3, connection)
            : this.hooks.upload(this.runtime, sandboxId, s3, connection),
        this.clientOptions,
      );
    } catch (error) {
      // The client could not even be built (the endpoint's address is refused now, keys removed from the config).
      const failure = isBurrowError(error)
        ? { code: error.code, error: error.message }
        : { code: 'INTERNAL', error: String(error) };
      report = {
        direction,
        sandboxId,
        bucket: s3.bucket,
        prefix: s3.prefix ?? '',
        syncPath: s3.syncPath ?? '',
        startedAt,
        finishedAt: new Date(),
        objects: 0,
        bytes: 0,
        failures: [{ key: s3.prefix ?? '', ...failure }],
        failureCount: 1,
        skipped: [],
        skippedCount: 0,
        timedOut: false,
      };
      this.logger.warn(
        { sandboxId, direction, bucket: s3.bucket, ...failure },
        `S3 ${direction} could not start`,
      );
    }
    try {
      this.store.addSync({ sandboxId, direction, startedAt: report.startedAt, report });
    } catch (error) {
      this.logger.error({ err: error, sandbox: sandboxId }, 'could not record an S3 sync report');
    }
    return report;
  }

  /** The sandbox's stored hooks reports, oldest first (they outlive the sandbox). */
  reports(sandboxId: string): StoredSyncReport[] {
    return this.store.listSyncs(sandboxId).map((record) => record.report as StoredSyncReport);
  }

  // ---------------------------------------------------------------- on-demand transfers

  private checkAllowed(): void {
    if (!this.allowS3)
      throw new BurrowError('POLICY_VIOLATION', 'S3 storage is disabled on this server (sandbox.allow_s3)');
  }

  /** Request checks in Den's order (fields, endpoint SSRF, path, credentials); nothing touches the sandbox or S3. */
  async planImport(input: S3ImportInput): Promise<ImportPlan> {
    const directory = input.prefix !== undefined || (input.key?.endsWith('/') ?? false);
    if (!given(input.bucket) || !given(input.destPath) || (!directory && !given(input.key))) {
      throw new BurrowError('VALIDATION_FAILED', 'bucket, key, and dest_path are required');
    }
    checkBucketName(input.bucket);
    this.checkAllowed();
    await this.policy.checkRequestEndpoint(input.endpoint);
    const destPath = checkedPath(input.destPath, 'dest_path');
    const resolved = resolveS3({ ...input, prefix: undefined }, this.server);
    const key = input.key ?? '';
    return { resolved, destPath, key, prefix: directory ? (input.prefix ?? key) : undefined };
  }

  async planExport(input: S3ExportInput): Promise<ExportPlan> {
    if (!given(input.sourcePath) || !given(input.bucket) || !given(input.key)) {
      throw new BurrowError('VALIDATION_FAILED', 'source_path, bucket, and key are required');
    }
    checkBucketName(input.bucket);
    this.checkAllowed();
    await this.policy.checkRequestEndpoint(input.endpoint);
    const sourcePath = checkedPath(input.sourcePath, 'source_path');
    const resolved = resolveS3({ ...input, prefix: undefined }, this.server);
    return { resolved, sourcePath, key: input.key };
  }

  /** Downloads one object (streamed) or every object under a prefix into the sandbox. */
  async runImport(sandboxId: string, plan: ImportPlan): Promise<S3ImportResult> {
    const started = performance.now();
    const result = await withS3Client(
      plan.resolved,
      this.policy,
      async (connection): Promise<S3ImportResult> => {
        const bucket = plan.resolved.bucket;
        if (plan.prefix === undefined) {
          const { bytes } = await importObject(
            this.runtime,
            sandboxId,
            { bucket, key: plan.key, destPath: plan.destPath },
            connection,
            { maxBytes: this.maxBytes },
          );
          return { bytes, path: plan.destPath };
        }
        const summary = await importPrefix(
          this.runtime,
          sandboxId,
          { bucket, prefix: plan.prefix, destDir: plan.destPath },
          connection,
          this.transferOptions(),
        );
        this.throwOnFailures(
          summary,
          `import of s3://${bucket}/${directoryPrefix(plan.prefix)} into ${plan.destPath}`,
        );
        return {
          bytes: summary.bytes,
          path: plan.destPath,
          objects: summary.objects,
          skipped: summary.skipped,
          skippedCount: summary.skippedCount,
        };
      },
      this.clientOptions,
    );
    this.logger.info(
      {
        sandbox: sandboxId,
        ...describeResolvedS3(plan.resolved),
        key: plan.prefix ?? plan.key,
        path: plan.destPath,
        bytes: result.bytes,
        objects: result.objects ?? 1,
        durationMs: Math.round(performance.now() - started),
      },
      'S3 import finished',
    );
    return result;
  }

  /** Uploads one file (streamed) or every regular file under a directory. */
  async runExport(sandboxId: string, plan: ExportPlan): Promise<S3ExportResult> {
    const started = performance.now();
    const info: FileInfo = await this.runtime.stat(sandboxId, plan.sourcePath);
    const result = await withS3Client(
      plan.resolved,
      this.policy,
      async (connection): Promise<S3ExportResult> => {
        const bucket = plan.resolved.bucket;
        if (!info.isDir) {
          const { bytes } = await exportObject(
            this.runtime,
            sandboxId,
            { sourcePath: plan.sourcePath, bucket, key: plan.key },
            connection,
            { maxBytes: this.maxBytes },
          );
          return { bytes, key: plan.key };
        }
        const summary = await exportDirectory(
          this.runtime,
          sandboxId,
          { sourceDir: plan.sourcePath, bucket, prefix: plan.key },
          connection,
          this.transferOptions(),
        );
        this.throwOnFailures(
          summary,
          `export of ${plan.sourcePath} to s3://${bucket}/${directoryPrefix(plan.key)}`,
        );
        return {
          bytes: summary.bytes,
          key: plan.key,
          objects: summary.objects,
          skipped: summary.skipped,
          skippedCount: summary.skippedCount,
        };
      },
      this.clientOptions,
    );
    this.logger.info(
      {
        sandbox: sandboxId,
        ...describeResolvedS3(plan.resolved),
        key: plan.key,
        path: plan.sourcePath,
        bytes: result.bytes,
        objects: result.objects ?? 1,
        durationMs: Math.round(performance.now() - started),
      },
      'S3 export finished',
    );
    return result;
  }

  /** A directory transfer with failed objects is an error that names them (what did arrive stays). */
  private throwOnFailures(summary: TransferSummary, what: string): void {
    const first = summary.failures[0];
    if (first === undefined) return;
    // One cause for every failure (all denied, say) keeps its code; a mix is an S3 error.
    const shared = summary.failures.every((failure) => failure.code === first.code) ? first.code : 'S3_ERROR';
    throw new BurrowError(
      isErrorCode(shared) ? shared : 'S3_ERROR',
      `${what}: ${summary.failureCount} failed, ${summary.objects} transferred (${summary.bytes} bytes)` +
        `; first failure: ${first.key ?? first.path ?? ''}: ${first.error}`,
      {
        objects: summary.objects,
        bytes: summary.bytes,
        failed: summary.failureCount,
        failed_keys: summary.failures
          .slice(0, FAILED_KEYS_SHOWN)
          .map((failure) => failure.key ?? failure.path ?? ''),
      },
    );
  }
}
