/**
 * The engine: Burrow's use cases over a Runtime and a SandboxStore. It owns admission (defaults, policy,
 * `max_sandboxes`), lifetimes, the truth of each sandbox's status, and the records that survive restarts.
 */
import { BurrowError, isBurrowError } from '@burrow/protocol';
import { newSandboxId } from '../ids.js';
import type { Logger } from '../logger.js';
import { logProgress, type ProgressFactory } from '../progress/progress.js';
import type {
  ExecOptions,
  ExecResult,
  ExecStream,
  FileData,
  DirListing,
  FileInfo,
  FileRead,
  IsolationSupport,
  ListOptions,
  PullProgress,
  Runtime,
  SandboxConfig,
  SandboxPath,
  SandboxStats,
  SandboxStatus,
  WriteFileOptions,
} from '../runtime/runtime.js';
import type { SandboxRecord, SandboxStore, SnapshotRecord } from '../store/store.js';
import {
  admit,
  checkLifetime,
  checkVolumeSharing,
  withinMaximum,
  type CreateSandboxInput,
  type SandboxPolicy,
} from './admission.js';
import { systemClock, type Clock } from './clock.js';
import { withinDeadline } from './deadline.js';
import { Mutex } from './mutex.js';
import { pullReporter, snapshotReporter } from './progress-reporting.js';
import type {
  S3ExportInput,
  S3ExportResult,
  S3ImportInput,
  S3ImportResult,
  S3Sync,
  StoredSyncReport,
} from './s3-sync.js';
import { carryRequestSettings, fitMember, withSandboxEnv, type WarmPool } from './warm-pool.js';

export interface EngineOptions {
  runtime: Runtime;
  store: SandboxStore;
  policy: SandboxPolicy;
  maxSandboxes: number;
  logger: Logger;
  clock?: Clock;
  hooks?: SandboxHooks[];
  /** S3 storage (hooks, fuse, on-demand transfers); it also runs as one of the hooks. */
  s3?: S3Sync;
  /** Serves creates that match a pool with pre-created sandboxes. */
  warmPool?: WarmPool;
  /** Shows image pulls, snapshots and restores that take a while; default: log lines every 10 s. */
  progress?: ProgressFactory;
  /** Bounds on what the engine collects from a sandbox for one answer. */
  limits?: Partial<EngineLimits>;
  /**
   * How long the reaper and shutdown wait for one sandbox's destroy (S3 upload included) before they log it, mark
   * the sandbox and move on; the destroy goes on in the background. Default {@link DEFAULT_DESTROY_DEADLINE_MS}.
   */
  destroyDeadlineMs?: number;
}

/** Longer than the default S3 upload budget (5 min), so only a destroy that is really stuck is passed over. */
export const DEFAULT_DESTROY_DEADLINE_MS = 6 * 60_000;

/** What one answer may collect from a sandbox, so no sandbox can fill the server's memory. */
export interface EngineLimits {
  /** Bytes of stdout and of stderr a synchronous exec keeps (`exec.max_output_bytes`). */
  maxOutputBytes: number;
  /** Entries a directory listing returns (`server.max_list_entries`). */
  maxListEntries: number;
}

export const DEFAULT_ENGINE_LIMITS: EngineLimits = {
  maxOutputBytes: 16 * 1024 * 1024,
  maxListEntries: 10_000,
};

/** Work tied to a sandbox's lifetime (S3 synchronisation, for one). Failures are reported by the hook itself. */
export interface SandboxHooks {
  /** Before the runtime creates the sandbox; may amend its configuration. A failure fails the create. */
  beforeCreate?(id: string, config: SandboxConfig): Promise<SandboxConfig>;
  afterCreate?(sandbox: SandboxRecord): Promise<void>;
  /** Before the runtime starts a stopped sandbox. A failure fails the start. */
  beforeStart?(sandbox: SandboxRecord): Promise<void>;
  /** Once the runtime started the sandbox (at create too). A failure fails the create or start (and stops it). */
  afterStart?(sandbox: SandboxRecord): Promise<void>;
  afterStop?(sandbox: SandboxRecord): Promise<void>;
  beforeDestroy?(sandbox: SandboxRecord): Promise<void>;
  /** After the runtime removed the sandbox, also when a create failed. */
  afterRemove?(sandbox: SandboxRecord): Promise<void>;
}

type ReportingStage = 'afterCreate' | 'afterStop' | 'beforeDestroy' | 'afterRemove';

export interface SandboxView extends SandboxRecord {
  ip?: string;
  exitCode?: number;
  /** Reports of its S3 `hooks` runs. */
  s3Sync?: StoredSyncReport[];
}

export interface SystemStats {
  running: number;
  stopped: number;
  total: number;
}

/** Snapshots do not keep S3 secrets; the original's record supplies them while it exists. */
function withSecretsOf(config: SandboxConfig, original: SandboxConfig | undefined): SandboxConfig {
  const s3 = config.storage?.s3;
  const secrets = original?.storage?.s3;
  if (s3 === undefined || secrets === undefined) return config;
  const merged = { ...s3 };
  if (secrets.accessKey !== undefined) merged.accessKey = secrets.accessKey;
  if (secrets.secretKey !== undefined) merged.secretKey = secrets.secretKey;
  return { ...config, storage: { ...config.storage, s3: merged } };
}

export class Engine {
  readonly runtime: Runtime;
  readonly store: SandboxStore;
  readonly policy: SandboxPolicy;
  private readonly maxSandboxes: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly hooks: SandboxHooks[];
  private readonly s3: S3Sync | undefined;
  private readonly warmPool: WarmPool | undefined;
  private readonly progress: ProgressFactory;
  readonly limits: EngineLimits;
  private readonly admission = new Mutex();
  /** Sandboxes Burrow itself is stopping or destroying: their `died` events are expected. */
  private readonly expectedExits = new Set<string>();
  /** Destroys the reaper or shutdown started and stopped waiting for: not started again while they run. */
  private readonly destroying = new Map<string, Promise<void>>();
  private readonly destroyDeadlineMs: number;

  constructor(options: EngineOptions) {
    this.runtime = options.runtime;
    this.store = options.store;
    this.policy = options.policy;
    this.maxSandboxes = options.maxSandboxes;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.s3 = options.s3;
    this.hooks = [...(options.hooks ?? []), ...(options.s3 === undefined ? [] : [options.s3])];
    this.warmPool = options.warmPool;
    this.progress = options.progress ?? logProgress(this.logger, { intervalMs: 10_000, quietStart: true });
    this.limits = { ...DEFAULT_ENGINE_LIMITS, ...options.limits };
    this.destroyDeadlineMs = options.destroyDeadlineMs ?? DEFAULT_DESTROY_DEADLINE_MS;
  }

  // ---------------------------------------------------------------- lifecycle

  private record(id: string): SandboxRecord {
    const record = this.store.getSandbox(id);
    if (record === undefined) throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
    return record;
  }

  private running(id: string): SandboxRecord {
    const record = this.record(id);
    if (record.status !== 'running') {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox is not running (status ${record.status}): start it first`,
      );
    }
    return record;
  }

  private volumesInUse(): Set<string> {
    return new Set(
      this.store
        .listSandboxes()
        .flatMap((record) => (record.config.storage?.volumes ?? []).map((v) => v.name)),
    );
  }

  /** Reserves a slot (a `creating` record) under the admission lock, so concurrent creates cannot exceed the limit. */
  private reserve(record: SandboxRecord): Promise<void> {
    return this.admission.run(async () => {
      await Promise.resolve();
      if (this.store.listSandboxes().length >= this.maxSandboxes) {
        throw new BurrowError('SANDBOX_LIMIT_REACHED', 'maximum sandbox limit reached', {
          max_sandboxes: this.maxSandboxes,
        });
      }
      checkVolumeSharing(record.config.storage?.volumes ?? [], this.volumesInUse(), this.policy);
      this.store.insertSandbox(record);
    });
  }

  async create(
    input: CreateSandboxInput,
    options: { onProgress?: (progress: PullProgress) => void } = {},
  ): Promise<SandboxView> {
    const { config, timeoutMs } = admit(input, this.policy);
    const now = this.clock.now();
    // A matching warm-pool member lends its id; recording it (below) makes it an ordinary sandbox.
    const member = this.warmPool?.take(config);
    const record: SandboxRecord = {
      id: member?.id ?? newSandboxId(now),
      image: config.image,
      status: 'creating',
      config,
      createdAt: now,
      expiresAt: new Date(now.getTime() + timeoutMs),
    };
    await this.reserve(record).catch((error: unknown) => {
      if (member !== undefined) this.warmPool?.giveBack(member);
      throw error;
    });
    try {
      if (member === undefined || !(await fitMember(this.runtime, member, config, this.logger))) {
        for (const hooks of this.hooks)
          if (hooks.beforeCreate) record.config = await hooks.beforeCreate(record.id, record.config);
        const pull = pullReporter(this.progress, config.image);
        const onProgress = options.onProgress ?? ((event: PullProgress) => pull.onProgress(event));
        await this.runtime.create(record.id, record.config, { onProgress }).then(
          () => pull.end(true),
          (error: unknown) => {
            pull.end(false);
            throw error;
          },
        );
        await this.runtime.start(record.id);
        for (const hooks of this.hooks) await hooks.afterStart?.(record);
      }
    } catch (error) {
      await this.runtime
        .remove(record.id)
        .catch((cleanupError: unknown) =>
          this.logger.error(
            { err: cleanupError, sandbox: record.id },
            'could not remove a sandbox that failed to start',
          ),
        );
      await this.runHooks('afterRemove', record);
      this.store.deleteSandbox(record.id);
      throw error;
    }
    record.status = 'running';
    this.store.updateSandbox(record);
    this.logger.info({ sandbox: record.id, image: config.image }, 'sandbox created');
    await this.runHooks('afterCreate', record);
    return this.withS3Reports(record);
  }

  private withS3Reports(view: SandboxView): SandboxView {
    const reports = this.s3?.reports(view.id) ?? [];
    return reports.length === 0 ? view : { ...view, s3Sync: reports };
  }

  private async runHooks(stage: ReportingStage, record: SandboxRecord): Promise<void> {
    for (const hooks of this.hooks) {
      try {
        await hooks[stage]?.(record);
      } catch (error) {
        this.logger.error({ err: error, sandbox: record.id, stage }, 'sandbox hook failed');
      }
    }
  }

  list(): SandboxView[] {
    return this.store.listSandboxes();
  }

  /** One sandbox, with its address looked up from the runtime. */
  async get(id: string): Promise<SandboxView> {
    const record = this.record(id);
    try {
      const info = await this.runtime.info(id);
      const view: SandboxView = { ...record };
      if (info.ip !== '') view.ip = info.ip;
      if (info.exitCode !== undefined && record.status !== 'running') view.exitCode = info.exitCode;
      return this.withS3Reports(view);
    } catch (error) {
      if (isBurrowError(error, 'SANDBOX_NOT_FOUND')) return this.withS3Reports(record);
      throw error;
    }
  }

  async destroy(id: string): Promise<void> {
    const record = this.record(id);
    this.expectedExits.add(id);
    try {
      if (record.status === 'running') await this.runHooks('beforeDestroy', record);
      await this.runtime.remove(id);
      await this.runHooks('afterRemove', record);
      this.store.deleteSandbox(id);
    } finally {
      this.expectedExits.delete(id);
    }
    this.logger.info({ sandbox: id }, 'sandbox destroyed');
  }

  async stop(id: string): Promise<SandboxView> {
    const record = this.record(id);
    this.expectedExits.add(id);
    try {
      await this.runtime.stop(id, 2000);
    } finally {
      this.expectedExits.delete(id);
    }
    await this.runHooks('afterStop', record);
    return this.setStatus(record, 'stopped');
  }

  async start(id: string): Promise<SandboxView> {
    const record = this.record(id);
    for (const hooks of this.hooks) await hooks.beforeStart?.(record);
    await this.runtime.start(id);
    try {
      for (const hooks of this.hooks) await hooks.afterStart?.(record);
    } catch (error) {
      await this.runtime.stop(id, 2000).catch(() => undefined);
      throw error;
    }
    return this.setStatus(record, 'running');
  }

  /** Resets a sandbox's lifetime: it now expires `timeoutMs` from now. */
  extendTimeout(id: string, timeoutMs: number): SandboxView {
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new BurrowError('VALIDATION_FAILED', 'timeout must be a positive number of seconds');
    }
    checkLifetime(timeoutMs, this.policy);
    const record = this.record(id);
    record.expiresAt = new Date(this.clock.now().getTime() + timeoutMs);
    this.store.updateSandbox(record);
    return record;
  }

  private setStatus(record: SandboxRecord, status: SandboxStatus, error?: string): SandboxRecord {
    const current = this.store.getSandbox(record.id);
    if (current === undefined) return record;
    current.status = status;
    if (error === undefined) delete current.error;
    else current.error = error;
    this.store.updateSandbox(current);
    return current;
  }

  /**
   * Brings a record in line with what the runtime reports (after an event, or when a call found the sandbox
   * not running). Exits Burrow caused itself are expected and leave the status it set.
   */
  observeExit(id: string, exitCode: number, oomKilled: boolean): void {
    if (this.expectedExits.has(id)) return;
    const record = this.store.getSandbox(id);
    if (record === undefined) this.warmPool?.forget(id);
    // Only a running sandbox can die on its own; a stop Burrow made has already recorded `stopped`.
    if (record?.status !== 'running') return;
    if (oomKilled)
      this.setStatus(record, 'error', 'the sandbox ran out of memory and its main process was killed');
    else if (exitCode === 0) this.setStatus(record, 'stopped');
    else this.setStatus(record, 'error', `the sandbox's main process exited with code ${exitCode}`);
    this.logger.warn({ sandbox: id, exitCode, oomKilled }, 'sandbox stopped on its own');
  }

  observeStart(id: string): void {
    const record = this.store.getSandbox(id);
    if (record === undefined || record.status === 'creating' || record.status === 'running') return;
    this.setStatus(record, 'running');
  }

  observeRemoval(id: string): void {
    if (this.expectedExits.has(id)) return;
    const record = this.store.getSandbox(id);
    if (record === undefined) this.warmPool?.forget(id);
    if (record === undefined || record.status === 'creating') return;
    this.setStatus(record, 'error', 'the sandbox container was removed outside Burrow');
  }

  /**
   * Destroys one sandbox, waiting at most `destroyDeadlineMs`. Past it, the sandbox is marked `error` (saying why)
   * and false is returned while the destroy goes on in the background; a second call while it runs waits for that
   * one instead of starting another.
   */
  private async destroyWithin(id: string): Promise<boolean> {
    let work = this.destroying.get(id);
    if (work === undefined) {
      const started = this.destroy(id).finally(() => this.destroying.delete(id));
      work = started;
      this.destroying.set(id, started);
    }
    const outcome = await withinDeadline(work, this.destroyDeadlineMs);
    if (outcome.done) return true;
    const ms = this.destroyDeadlineMs;
    const within = ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
    this.logger.error(
      { sandbox: id, deadlineMs: this.destroyDeadlineMs },
      'destroying a sandbox did not finish in time: moving on (it goes on in the background)',
    );
    const record = this.store.getSandbox(id);
    if (record !== undefined)
      this.setStatus(record, 'error', `destroy did not finish within ${within}; Burrow is still trying`);
    return false;
  }

  /** Destroys every sandbox whose lifetime has passed; returns the ids destroyed. A stuck one never holds the rest. */
  async reapExpired(): Promise<string[]> {
    const now = this.clock.now().getTime();
    const expired = this.store.listSandboxes().filter(
      (record) =>
        record.status !== 'creating' &&
        record.expiresAt !== undefined &&
        record.expiresAt.getTime() <= now &&
        // Already being destroyed, by a sweep that stopped waiting for it: that destroy is still going.
        !this.destroying.has(record.id),
    );
    const reaped: string[] = [];
    for (const record of expired) {
      try {
        if (!(await this.destroyWithin(record.id))) continue;
        reaped.push(record.id);
        this.logger.info({ sandbox: record.id }, 'sandbox expired and was destroyed');
      } catch (error) {
        this.logger.error({ err: error, sandbox: record.id }, 'could not destroy an expired sandbox');
      }
    }
    return reaped;
  }

  /**
   * Destroys every sandbox (shutdown with `destroy_on_exit`), all at once, each waited for at most
   * `destroyDeadlineMs`; returns the ids that were not destroyed in time or failed.
   */
  async destroyAll(): Promise<string[]> {
    const left: string[] = [];
    await Promise.all(
      this.store.listSandboxes().map(async (record) => {
        try {
          if (!(await this.destroyWithin(record.id))) left.push(record.id);
        } catch (error) {
          left.push(record.id);
          this.logger.error({ err: error, sandbox: record.id }, 'destroy on exit failed');
        }
      }),
    );
    return left;
  }

  // ---------------------------------------------------------------- exec and files

  /** Runs a sandbox call; if the runtime finds it not running, the record learns so too. */
  private async inSandbox<T>(id: string, work: (record: SandboxRecord) => Promise<T>): Promise<T> {
    const record = this.running(id);
    try {
      return await work(record);
    } catch (error) {
      if (isBurrowError(error, 'SANDBOX_NOT_RUNNING')) await this.refreshStatus(id);
      throw error;
    }
  }

  private async refreshStatus(id: string): Promise<void> {
    try {
      const info = await this.runtime.info(id);
      if (info.status !== 'running') this.observeExit(id, info.exitCode ?? 0, info.oomKilled === true);
    } catch (error) {
      if (isBurrowError(error, 'SANDBOX_NOT_FOUND')) this.observeRemoval(id);
    }
  }

  /** Runs a command to its end; its output is kept up to `limits.maxOutputBytes` per stream. */
  exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return this.inSandbox(id, (record) =>
      this.runtime.exec(id, {
        ...withSandboxEnv(record.config, options),
        maxOutputBytes: this.limits.maxOutputBytes,
      }),
    );
  }

  execStream(id: string, options: ExecOptions): Promise<ExecStream> {
    return this.inSandbox(id, (record) =>
      this.runtime.execStream(id, withSandboxEnv(record.config, options)),
    );
  }

  readFile(id: string, path: SandboxPath): Promise<FileRead> {
    return this.inSandbox(id, () => this.runtime.readFile(id, path));
  }

  writeFile(
    id: string,
    path: SandboxPath,
    data: FileData,
    options?: WriteFileOptions,
  ): Promise<{ bytes: number }> {
    return this.inSandbox(id, () => this.runtime.writeFile(id, path, data, options));
  }

  /** A directory's entries, at most `limits.maxListEntries` (a sandbox may hold millions). */
  listDir(id: string, path: SandboxPath, options: ListOptions = {}): Promise<DirListing> {
    const maxEntries = Math.min(options.maxEntries ?? Infinity, this.limits.maxListEntries);
    return this.inSandbox(id, () => this.runtime.listDir(id, path, { maxEntries }));
  }

  stat(id: string, path: SandboxPath): Promise<FileInfo> {
    return this.inSandbox(id, () => this.runtime.stat(id, path));
  }

  mkdir(id: string, path: SandboxPath): Promise<void> {
    return this.inSandbox(id, () => this.runtime.mkdir(id, path));
  }

  removeFile(id: string, path: SandboxPath): Promise<void> {
    return this.inSandbox(id, () => this.runtime.removeFile(id, path));
  }

  // ---------------------------------------------------------------- S3 (s3-sync.ts)

  private s3Sync(): S3Sync {
    if (this.s3 === undefined)
      throw new BurrowError('NOT_SUPPORTED', 'S3 storage is not configured on this server');
    return this.s3;
  }

  /** Downloads an object (or, Burrow, every object under a prefix) into a running sandbox. */
  async s3Import(id: string, input: S3ImportInput): Promise<S3ImportResult> {
    const plan = await this.s3Sync().planImport(input);
    return this.inSandbox(id, () => this.s3Sync().runImport(id, plan));
  }

  /** Uploads a file (or, Burrow, every file under a directory) of a running sandbox. */
  async s3Export(id: string, input: S3ExportInput): Promise<S3ExportResult> {
    const plan = await this.s3Sync().planExport(input);
    return this.inSandbox(id, () => this.s3Sync().runExport(id, plan));
  }

  /** Reports of a sandbox's S3 hooks runs; they outlive the sandbox (the upload runs as it is destroyed). */
  s3SyncReports(id: string): StoredSyncReport[] {
    const reports = this.s3?.reports(id) ?? [];
    if (reports.length === 0) this.record(id);
    return reports;
  }

  // ---------------------------------------------------------------- snapshots

  async createSnapshot(id: string, name: string): Promise<SnapshotRecord> {
    this.record(id);
    const shown = snapshotReporter(this.progress, `snapshot of ${id}`, { sandbox: id }, 'saved');
    // Den keeps the name as given, "" included.
    const info = await this.runtime.snapshot(id, name, { onProgress: shown.onProgress }).then(
      (made) => (shown.end(true), made),
      (error: unknown) => {
        shown.end(false);
        throw error;
      },
    );
    const record: SnapshotRecord = {
      id: info.id,
      sandboxId: id,
      name: info.name,
      imageId: info.imageId,
      createdAt: info.createdAt,
      size: info.size,
    };
    try {
      this.store.insertSnapshot(record);
    } catch (error) {
      await this.runtime.removeSnapshot(info.id).catch(() => undefined);
      throw error;
    }
    return record;
  }

  listSnapshots(sandboxId: string): SnapshotRecord[] {
    return this.store.listSnapshots(sandboxId);
  }

  async restoreSnapshot(snapshotId: string): Promise<SandboxView> {
    const snapshot = this.store.getSnapshot(snapshotId);
    if (snapshot === undefined)
      throw new BurrowError('SNAPSHOT_NOT_FOUND', `snapshot not found: ${snapshotId}`);
    const original = this.store.getSandbox(snapshot.sandboxId);
    const now = this.clock.now();
    const id = newSandboxId(now);
    // The original's lifetime length carries over; without the original, the server default applies.
    const lifetime =
      original?.expiresAt !== undefined
        ? original.expiresAt.getTime() - original.createdAt.getTime()
        : this.policy.defaultTimeoutMs;
    const placeholder: SandboxRecord = {
      id,
      image: original?.image ?? '',
      status: 'creating',
      config: original?.config ?? { image: '' },
      createdAt: now,
      expiresAt: new Date(now.getTime() + lifetime),
    };
    await this.reserve(placeholder);
    try {
      const shown = snapshotReporter(
        this.progress,
        `restore of ${snapshotId}`,
        { snapshot: snapshotId, sandbox: id },
        'refilled',
      );
      await this.runtime.restore(snapshotId, { id, onProgress: shown.onProgress }).then(
        () => shown.end(true),
        (error: unknown) => {
          shown.end(false);
          throw error;
        },
      );
      const info = await this.runtime.info(id);
      let config = withSecretsOf(info.config ?? { image: info.image }, original?.config);
      if (original !== undefined)
        config = await carryRequestSettings(this.runtime, id, config, original.config);
      const record: SandboxRecord = { ...placeholder, image: config.image, config, status: 'running' };
      this.store.updateSandbox(record);
      return record;
    } catch (error) {
      await this.runtime.remove(id).catch(() => undefined);
      this.store.deleteSandbox(id);
      throw error;
    }
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    if (this.store.getSnapshot(snapshotId) === undefined) {
      throw new BurrowError('SNAPSHOT_NOT_FOUND', `snapshot not found: ${snapshotId}`);
    }
    await this.runtime.removeSnapshot(snapshotId).catch((error: unknown) => {
      if (!isBurrowError(error, 'SNAPSHOT_NOT_FOUND')) throw error;
    });
    this.store.deleteSnapshot(snapshotId);
  }

  // ---------------------------------------------------------------- resources

  /** The isolation runtimes a create may ask for: what the backend runs, as far as the operator allows. */
  async isolations(): Promise<IsolationSupport[]> {
    const allowed = this.policy.allowedRuntimes ?? ['runc', 'gvisor'];
    return (await this.runtime.isolations()).filter((entry) => allowed.includes(entry.runtime));
  }

  async stats(id: string): Promise<SandboxStats> {
    this.record(id);
    return this.runtime.stats(id);
  }

  systemStats(): SystemStats {
    const records = this.store.listSandboxes();
    return {
      running: records.filter((record) => record.status === 'running').length,
      stopped: records.filter((record) => record.status === 'stopped').length,
      total: records.length,
    };
  }

  /** Sets a running sandbox's memory limit, within `sandbox.max_memory` (0, "no limit", means that maximum). */
  async updateMemoryLimit(id: string, bytes: number): Promise<void> {
    this.running(id);
    const limit = withinMaximum(bytes, this.policy.maxMemory, 'memory', 'sandbox.max_memory, in bytes');
    await this.runtime.updateMemoryLimit(id, limit);
  }
}
