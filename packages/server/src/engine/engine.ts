/**
 * The engine: Burrow's use cases over a Runtime and a SandboxStore. It owns admission (defaults, policy,
 * `max_sandboxes`), lifetimes, the truth of each sandbox's status, and the records that survive restarts.
 */
import type { Duplex } from 'node:stream';
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
import { pathText, type Auditor, type AuditEvent } from './audit.js';
import { canSee, type Caller, type CallerContext } from './caller.js';
import { systemClock, type Clock } from './clock.js';
import { withinDeadline } from './deadline.js';
import { checkForkCount, forkConfig, forkRecords } from './fork.js';
import { DEFAULT_LIFETIME_POLICY, Lifetimes, type LifetimePolicy } from './lifetimes.js';
import { NO_METRICS, type EngineMetrics } from './metrics.js';
import { Mutex } from './mutex.js';
import { pullReporter, snapshotReporter } from './progress-reporting.js';
import { SandboxProcesses } from './processes.js';
import { isActive, tenantOf, type Quotas } from './quotas.js';
import type {
  S3ExportInput,
  S3ExportResult,
  S3ImportInput,
  S3ImportResult,
  S3Sync,
  StoredSyncReport,
} from './s3-sync.js';
import { Tenancy, type TenantUsage } from './tenancy.js';
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
  /** Bytes of each output stream a background process keeps for replay (default 1 MiB). */
  processBufferBytes?: number;
  /** Activity-aware lifetimes, idle action and pause behaviour; Den's fixed lifetimes when absent. */
  lifetimes?: Partial<LifetimePolicy>;
  /** Refuses new sandboxes (create, restore, fork) while the host cannot take them (memory pressure). */
  admissionGate?: () => void;
  metrics?: EngineMetrics;
  /**
   * Who is calling, set per request by the API (and by other front ends): a sandbox, snapshot or S3 report of
   * another tenant is not found. Without it (and outside any request) every call runs as the system.
   */
  callers?: CallerContext;
  /** Per-tenant quotas; none without it (use is still counted). */
  quotas?: Quotas;
  /** Records who changed what (create, exec, file writes, destroy, ...); nothing without it. */
  auditor?: Auditor;
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
  paused: number;
  stopped: number;
  total: number;
}

/** Statuses that hold resources, and so count toward `max_sandboxes`. */
const COUNTED = new Set(['creating', 'running', 'paused']);

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
  /** Background processes, terminals and watches of running sandboxes. */
  readonly processes: SandboxProcesses;
  readonly lifetimes: Lifetimes;
  private readonly admissionGate: () => void;
  private readonly metrics: EngineMetrics;
  private readonly admission = new Mutex();
  /**
   * Sandboxes Burrow is starting, stopping or destroying: the outcome is that call's to record, and events about
   * them meanwhile are expected. `changes` counts such calls per sandbox, so a status read that raced one is dropped.
   */
  private readonly busy = new Set<string>();
  private readonly changes = new Map<string, number>();
  /** Destroys the reaper or shutdown started and stopped waiting for: not started again while they run. */
  private readonly destroying = new Map<string, Promise<void>>();
  private readonly destroyDeadlineMs: number;
  /** Callers, ownership, quotas and the audit log. */
  readonly tenancy: Tenancy;

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
    this.lifetimes = new Lifetimes(this.store, this.clock, {
      ...DEFAULT_LIFETIME_POLICY,
      ...options.lifetimes,
    });
    this.tenancy = new Tenancy({
      store: this.store,
      callers: options.callers,
      quotas: options.quotas,
      auditor: options.auditor,
      unlimitedCpu: this.policy.maxCpu,
    });
    this.admissionGate = options.admissionGate ?? (() => undefined);
    this.metrics = options.metrics ?? NO_METRICS;
    this.processes = new SandboxProcesses({
      runtime: this.runtime,
      inSandbox: (id, work) => this.inSandbox(id, work),
      ...(options.processBufferBytes === undefined ? {} : { bufferBytes: options.processBufferBytes }),
      onActivity: (id) => this.touch(id),
      audited: (event, work) => this.audited(event, work),
    });
  }

  private audited<T>(event: AuditEvent, work: () => Promise<T>): Promise<T> {
    return this.tenancy.audited(event, work);
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * The one lookup of a sandbox by id for every use case (and every route built on them): a sandbox of another
   * tenant is not found, exactly as one that does not exist.
   */
  private record(id: string): SandboxRecord {
    const record = this.store.getSandbox(id);
    if (record === undefined || !this.tenancy.sees(tenantOf(record)))
      throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
    return record;
  }

  private running(id: string): SandboxRecord {
    const record = this.record(id);
    if (record.status === 'paused') {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        'sandbox is paused: resume it first (POST /api/v1/sandboxes/{id}/resume)',
        { status: 'paused' },
      );
    }
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

  /**
   * Refuses a sandbox more when running, paused and creating ones already fill `max_sandboxes`, or when `record`
   * would not fit its tenant's quota.
   */
  private checkRoom(record: SandboxRecord): void {
    const sandboxes = this.store.listSandboxes();
    const counted = sandboxes.filter((sandbox) => COUNTED.has(sandbox.status));
    if (counted.length >= this.maxSandboxes) {
      throw new BurrowError('SANDBOX_LIMIT_REACHED', 'maximum sandbox limit reached', {
        max_sandboxes: this.maxSandboxes,
      });
    }
    this.tenancy.checkSandbox(record, sandboxes);
  }

  /**
   * Reserves a slot (a `creating` record) under the admission lock, so concurrent creates cannot exceed the limit
   * or the tenant's quota.
   */
  private reserve(record: SandboxRecord): Promise<void> {
    return this.admission.run(async () => {
      await Promise.resolve();
      this.checkRoom(record);
      checkVolumeSharing(record.config.storage?.volumes ?? [], this.volumesInUse(), this.policy);
      this.store.insertSandbox(record);
    });
  }

  async create(
    input: CreateSandboxInput,
    options: { onProgress?: (progress: PullProgress) => void } = {},
  ): Promise<SandboxView> {
    const admitted = admit(input, this.policy);
    const owner = this.tenancy.newOwner();
    const config = this.tenancy.ownVolumes(admitted.config, owner.tenant);
    const timeoutMs = admitted.timeoutMs;
    this.admissionGate();
    const now = this.clock.now();
    // A matching warm-pool member lends its id; recording it (below) makes it an ordinary sandbox.
    const member = this.warmPool?.take(config);
    if (this.warmPool !== undefined && this.warmPool.stats().pools.length > 0)
      this.metrics.warmPool(member === undefined ? 'miss' : 'hit');
    const record: SandboxRecord = {
      id: member?.id ?? newSandboxId(now),
      image: config.image,
      status: 'creating',
      config,
      createdAt: now,
      expiresAt: new Date(now.getTime() + timeoutMs),
      owner,
    };
    const event: AuditEvent = {
      action: 'sandbox.create',
      sandboxId: record.id,
      detail: { image: config.image },
    };
    return this.audited(event, async () => {
      await this.reserve(record).catch((error: unknown) => {
        if (member !== undefined) this.warmPool?.giveBack(member);
        throw error;
      });
      return this.createReserved(record, member, options);
    });
  }

  private async createReserved(
    record: SandboxRecord,
    member: ReturnType<WarmPool['take']>,
    options: { onProgress?: (progress: PullProgress) => void },
  ): Promise<SandboxView> {
    const config = record.config;
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
      this.metrics.sandboxCreateFailed('create');
      throw error;
    }
    record.status = 'running';
    this.store.updateSandbox(record);
    this.metrics.sandboxCreated('create');
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

  /**
   * What a key's caller (undefined: no valid key) may do with a sandbox, for front ends that check keys themselves
   * (the preview proxy): reach it, or not find it (another tenant's), or nothing. A sandbox that does not exist is
   * `allowed`, so that it then answers as missing, exactly as another tenant's does.
   */
  keyReach(caller: Caller | undefined, id: string): 'allowed' | 'not-found' | 'invalid' {
    if (caller === undefined) return 'invalid';
    const record = this.store.getSandbox(id);
    return record === undefined || canSee(caller, tenantOf(record)) ? 'allowed' : 'not-found';
  }

  /** The sandboxes the caller may see. */
  list(): SandboxView[] {
    return this.store.listSandboxes().filter((record) => this.tenancy.sees(tenantOf(record)));
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

  /** Runs one of Burrow's own state changes of a sandbox; events meanwhile do not touch its record. */
  private async changing<T>(id: string, work: () => Promise<T>): Promise<T> {
    this.busy.add(id);
    this.changes.set(id, (this.changes.get(id) ?? 0) + 1);
    try {
      return await work();
    } finally {
      this.busy.delete(id);
      this.changes.set(id, (this.changes.get(id) ?? 0) + 1);
    }
  }

  async destroy(id: string, reason: 'request' | 'expired' = 'request'): Promise<void> {
    const record = this.record(id);
    return this.audited({ action: 'sandbox.destroy', sandboxId: id }, () =>
      this.destroyRecord(record, reason),
    );
  }

  private async destroyRecord(record: SandboxRecord, reason: 'request' | 'expired'): Promise<void> {
    const id = record.id;
    await this.changing(id, async () => {
      // Hooks reach inside (an S3 upload): a paused sandbox is resumed for them.
      if (record.status === 'paused' && this.hooks.some((hooks) => hooks.beforeDestroy !== undefined))
        await this.runtime.resume(id).then(
          () => (record.status = 'running'),
          (error: unknown) =>
            this.logger.warn({ err: error, sandbox: id }, 'could not resume a paused sandbox for its hooks'),
        );
      if (record.status === 'running') await this.runHooks('beforeDestroy', record);
      await this.runtime.remove(id);
      await this.runHooks('afterRemove', record);
      this.store.deleteSandbox(id);
    });
    this.changes.delete(id);
    this.metrics.sandboxDestroyed(reason);
    this.logger.info({ sandbox: id }, 'sandbox destroyed');
  }

  async stop(id: string): Promise<SandboxView> {
    const record = this.record(id);
    return this.audited({ action: 'sandbox.stop', sandboxId: id }, () => this.stopRecord(record));
  }

  private async stopRecord(record: SandboxRecord): Promise<SandboxView> {
    const id = record.id;
    return this.changing(id, async () => {
      await this.runtime.stop(id, 2000);
      await this.runHooks('afterStop', record);
      return this.setStatus(record, 'stopped');
    });
  }

  /** Freezes a running sandbox; pausing a paused one is fine. */
  async pause(id: string, why = 'requested'): Promise<SandboxView> {
    const record = this.record(id);
    if (record.status === 'paused') return record;
    return this.audited({ action: 'sandbox.pause', sandboxId: id, detail: { why } }, () =>
      this.pauseRecord(record, why),
    );
  }

  private async pauseRecord(record: SandboxRecord, why: string): Promise<SandboxView> {
    const id = record.id;
    if (record.status !== 'running') {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox is ${record.status}: only a running sandbox can be paused`,
        { status: record.status },
      );
    }
    const paused = await this.changing(id, async () => {
      await this.runtime.pause(id);
      const done = this.lifetimes.paused(this.store.getSandbox(id) ?? record);
      this.store.updateSandbox(done);
      return done;
    });
    this.logger.info({ sandbox: id, why }, 'sandbox paused');
    return paused;
  }

  /** Continues a paused sandbox; resuming a running one is fine. */
  async resume(id: string): Promise<SandboxView> {
    const record = this.record(id);
    if (record.status === 'running') return record;
    return this.audited({ action: 'sandbox.resume', sandboxId: id }, () => this.resumeRecord(record));
  }

  private async resumeRecord(record: SandboxRecord): Promise<SandboxView> {
    const id = record.id;
    if (record.status !== 'paused') {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox is ${record.status}, not paused: start it instead`,
        { status: record.status },
      );
    }
    const resumed = await this.changing(id, async () => {
      await this.runtime.resume(id);
      const done = this.lifetimes.resumed(this.store.getSandbox(id) ?? record);
      this.store.updateSandbox(done);
      return done;
    });
    this.logger.info({ sandbox: id }, 'sandbox resumed');
    return resumed;
  }

  /** Records use of a sandbox (exec, files, attach, proxy traffic): the one entry point for activity. */
  touch(id: string): void {
    this.lifetimes.touch(id);
  }

  /** Pauses (or stops) running sandboxes idle for longer than `idle_action_after`; returns their ids. */
  async applyIdlePolicy(): Promise<string[]> {
    const idle = this.lifetimes.idle(this.store.listSandboxes(), this.clock.now());
    const done: string[] = [];
    for (const record of idle) {
      try {
        if (this.lifetimes.policy.idleAction === 'stop') await this.stop(record.id);
        else await this.pause(record.id, 'idle');
        done.push(record.id);
      } catch (error) {
        this.logger.error({ err: error, sandbox: record.id }, 'could not apply the idle action');
      }
    }
    return done;
  }

  /** Starts a stopped sandbox; a running one is left as it is (as Den does), a paused one is resumed. */
  async start(id: string): Promise<SandboxView> {
    const record = this.record(id);
    // A paused sandbox is started by continuing it.
    if (record.status === 'paused') return this.resume(id);
    if (record.status === 'running' && (await this.runtime.info(id)).status === 'running') return record;
    return this.audited({ action: 'sandbox.start', sandboxId: id }, async () => {
      // A stopped sandbox holds no slot; starting it takes one again (and a place in its tenant's quota, counted
      // until its record says running).
      const release = await this.admission.run(async () => {
        await Promise.resolve();
        if (isActive(record)) return undefined;
        this.checkRoom(record);
        return this.tenancy.beginStart(record);
      });
      try {
        return await this.changing(id, async () => {
          for (const hooks of this.hooks) await hooks.beforeStart?.(record);
          await this.runtime.start(id);
          try {
            for (const hooks of this.hooks) await hooks.afterStart?.(record);
          } catch (error) {
            // Burrow undoes the start itself: the sandbox is `stopped` (startable again), and the caller gets the
            // error.
            await this.runtime.stop(id, 2000).catch(() => undefined);
            this.setStatus(record, 'stopped');
            throw error;
          }
          return this.setStatus(record, 'running');
        });
      } finally {
        release?.();
      }
    });
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
    this.tenancy.audit({ action: 'sandbox.timeout', sandboxId: id, detail: { timeout_ms: timeoutMs } });
    return record;
  }

  private setStatus(record: SandboxRecord, status: SandboxStatus, error?: string): SandboxRecord {
    const current = this.store.getSandbox(record.id);
    if (current === undefined) return record;
    current.status = status;
    if (error === undefined) delete current.error;
    else current.error = error;
    if (status !== 'paused') delete current.pausedAt;
    this.store.updateSandbox(current);
    return current;
  }

  /**
   * Brings a sandbox's record in line with the runtime after an event about it, or when a call found it not
   * running. Events can arrive late (a start's event after the stop that followed it), so the runtime's state
   * now decides, not the event; a sandbox Burrow is changing itself is left to that call.
   */
  async refresh(id: string): Promise<void> {
    const before = this.changes.get(id) ?? 0;
    if (this.busy.has(id)) return;
    let info;
    try {
      info = await this.runtime.info(id);
    } catch (error) {
      if (!isBurrowError(error, 'SANDBOX_NOT_FOUND')) throw error;
      if (!this.busy.has(id) && (this.changes.get(id) ?? 0) === before) this.observeRemoval(id);
      return;
    }
    if (this.busy.has(id) || (this.changes.get(id) ?? 0) !== before) return;
    const record = this.store.getSandbox(id);
    if (info.status === 'paused') this.observePause(id, true);
    else if (info.status === 'running' && record?.status === 'paused') this.observePause(id, false);
    else if (info.status === 'running') this.observeStart(id);
    else if (info.status !== 'creating') this.observeExit(id, info.exitCode ?? 0, info.oomKilled === true);
  }

  /** Records that a running sandbox's main process ended on its own (OOM kill, crash or exit). */
  observeExit(id: string, exitCode: number, oomKilled: boolean): void {
    if (this.busy.has(id)) return;
    const record = this.store.getSandbox(id);
    if (record === undefined) this.warmPool?.forget(id);
    // Only a running (or paused) sandbox can die on its own; a stop Burrow made has already recorded `stopped`.
    if (record?.status !== 'running' && record?.status !== 'paused') return;
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

  /** The runtime reports a pause or resume (possibly made outside Burrow). */
  observePause(id: string, paused: boolean): void {
    const record = this.store.getSandbox(id);
    if (record === undefined) return;
    if (paused && record.status === 'running') this.store.updateSandbox(this.lifetimes.paused(record));
    else if (!paused && record.status === 'paused') this.store.updateSandbox(this.lifetimes.resumed(record));
  }

  observeRemoval(id: string): void {
    if (this.busy.has(id)) return;
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
  private async destroyWithin(id: string, reason: 'request' | 'expired' = 'request'): Promise<boolean> {
    let work = this.destroying.get(id);
    if (work === undefined) {
      const started = this.destroy(id, reason).finally(() => this.destroying.delete(id));
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
    const now = this.clock.now();
    const expired = this.store.listSandboxes().filter(
      (record) =>
        this.lifetimes.isExpired(record, now) &&
        // Already being destroyed, by a sweep that stopped waiting for it: that destroy is still going.
        !this.destroying.has(record.id),
    );
    const reaped: string[] = [];
    for (const record of expired) {
      try {
        if (!(await this.destroyWithin(record.id, 'expired'))) continue;
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

  /**
   * A sandbox able to take a call: a paused one is resumed first when `auto_resume` is on. The call counts as
   * activity.
   */
  private async usable(id: string): Promise<SandboxRecord> {
    let record = this.record(id);
    if (record.status === 'paused' && this.lifetimes.policy.autoResume) {
      await this.resume(id);
      record = this.record(id);
    }
    record = this.running(id);
    this.touch(id);
    return record;
  }

  /** Runs a sandbox call; if the runtime finds it not running, the record learns so too. */
  private async inSandbox<T>(id: string, work: (record: SandboxRecord) => Promise<T>): Promise<T> {
    const record = await this.usable(id);
    try {
      return await work(record);
    } catch (error) {
      if (isBurrowError(error, 'SANDBOX_NOT_RUNNING')) await this.refresh(id).catch(() => undefined);
      throw error;
    }
  }

  /** Runs a command to its end; its output is kept up to `limits.maxOutputBytes` per stream. */
  exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return this.inSandbox(id, (record) =>
      this.audited({ action: 'exec', sandboxId: id, detail: { argv: options.cmd } }, async () => {
        const started = performance.now();
        const result = await this.runtime.exec(id, {
          ...withSandboxEnv(record.config, options),
          maxOutputBytes: this.limits.maxOutputBytes,
        });
        this.metrics.exec('sync', (performance.now() - started) / 1000);
        return result;
      }),
    );
  }

  /** Audited once the stream is open (its end is the client's). */
  execStream(id: string, options: ExecOptions): Promise<ExecStream> {
    return this.inSandbox(id, (record) =>
      this.audited({ action: 'exec.stream', sandboxId: id, detail: { argv: options.cmd } }, async () => {
        const stream = await this.runtime.execStream(id, withSandboxEnv(record.config, options));
        this.metrics.exec('stream');
        return stream;
      }),
    );
  }

  readFile(id: string, path: SandboxPath): Promise<FileRead> {
    return this.inSandbox(id, async () => {
      const file = await this.runtime.readFile(id, path);
      this.metrics.fileBytes('out', file.info.size);
      return file;
    });
  }

  writeFile(
    id: string,
    path: SandboxPath,
    data: FileData,
    options?: WriteFileOptions,
  ): Promise<{ bytes: number }> {
    return this.inSandbox(id, () =>
      this.audited({ action: 'file.write', sandboxId: id, detail: { path: pathText(path) } }, async () => {
        const written = await this.runtime.writeFile(id, path, data, options);
        this.metrics.fileBytes('in', written.bytes);
        return written;
      }),
    );
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
    return this.inSandbox(id, () =>
      this.audited({ action: 'file.mkdir', sandboxId: id, detail: { path: pathText(path) } }, () =>
        this.runtime.mkdir(id, path),
      ),
    );
  }

  removeFile(id: string, path: SandboxPath): Promise<void> {
    return this.inSandbox(id, () =>
      this.audited({ action: 'file.remove', sandboxId: id, detail: { path: pathText(path) } }, () =>
        this.runtime.removeFile(id, path),
      ),
    );
  }

  /** A connection to a port inside a running sandbox (preview URLs and published ports ride on it). */
  connectPort(id: string, port: number): Promise<Duplex> {
    return this.inSandbox(id, () => this.runtime.connectPort(id, port));
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
    // Where from and to, never the request's credentials or endpoint.
    const detail = { bucket: input.bucket, key: input.key, prefix: input.prefix, path: input.destPath };
    return this.inSandbox(id, () =>
      this.audited({ action: 's3.import', sandboxId: id, detail }, () => this.s3Sync().runImport(id, plan)),
    );
  }

  /** Uploads a file (or, Burrow, every file under a directory) of a running sandbox. */
  async s3Export(id: string, input: S3ExportInput): Promise<S3ExportResult> {
    const plan = await this.s3Sync().planExport(input);
    const detail = { bucket: input.bucket, key: input.key, path: input.sourcePath };
    return this.inSandbox(id, () =>
      this.audited({ action: 's3.export', sandboxId: id, detail }, () => this.s3Sync().runExport(id, plan)),
    );
  }

  /** Reports of a sandbox's S3 hooks runs; they outlive the sandbox (the upload runs as it is destroyed). */
  s3SyncReports(id: string): StoredSyncReport[] {
    // Reports outlive their sandbox and keep its tenant.
    if (this.store.getSandbox(id) !== undefined) this.record(id);
    else if (!this.tenancy.sees(this.store.listSyncs(id)[0]?.tenant))
      throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
    const reports = this.s3?.reports(id) ?? [];
    if (reports.length === 0) this.record(id);
    return reports;
  }

  // ---------------------------------------------------------------- snapshots

  async createSnapshot(id: string, name: string): Promise<SnapshotRecord> {
    // The snapshot belongs to its sandbox's tenant (also when an admin takes it), and counts against its quota.
    const tenant = tenantOf(this.record(id));
    return this.audited({ action: 'snapshot.create', sandboxId: id, detail: { name } }, async () => {
      const release = await this.admission.run(async () => {
        await Promise.resolve();
        return this.tenancy.beginSnapshot(tenant);
      });
      try {
        return await this.takeSnapshot(id, name, tenant);
      } finally {
        release();
      }
    });
  }

  private async takeSnapshot(id: string, name: string, tenant: string): Promise<SnapshotRecord> {
    // A paused sandbox's tmpfs can only be read once it runs again.
    if (this.record(id).status === 'paused') await this.usable(id);
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
      tenant,
    };
    try {
      this.store.insertSnapshot(record);
    } catch (error) {
      await this.runtime.removeSnapshot(info.id).catch(() => undefined);
      throw error;
    }
    return record;
  }

  /** The caller's snapshots of a sandbox (they outlive it, so the sandbox need not exist). */
  listSnapshots(sandboxId: string): SnapshotRecord[] {
    return this.store.listSnapshots(sandboxId).filter((snapshot) => this.tenancy.sees(snapshot.tenant));
  }

  /** A snapshot the caller may see; another tenant's is not found. */
  private snapshot(snapshotId: string): SnapshotRecord {
    const snapshot = this.store.getSnapshot(snapshotId);
    if (snapshot === undefined || !this.tenancy.sees(snapshot.tenant))
      throw new BurrowError('SNAPSHOT_NOT_FOUND', `snapshot not found: ${snapshotId}`);
    return snapshot;
  }

  async restoreSnapshot(snapshotId: string): Promise<SandboxView> {
    const snapshot = this.snapshot(snapshotId);
    return this.audited({ action: 'snapshot.restore', detail: { snapshot: snapshotId } }, () =>
      this.restoreFrom(snapshot),
    );
  }

  private async restoreFrom(snapshot: SnapshotRecord): Promise<SandboxView> {
    const snapshotId = snapshot.id;
    const original = this.store.getSandbox(snapshot.sandboxId);
    const now = this.clock.now();
    const id = newSandboxId(now);
    // The original's lifetime length carries over; without the original, the server default applies.
    const lifetime =
      original?.expiresAt !== undefined
        ? original.expiresAt.getTime() - original.createdAt.getTime()
        : this.policy.defaultTimeoutMs;
    this.admissionGate();
    const placeholder: SandboxRecord = {
      id,
      image: original?.image ?? '',
      status: 'creating',
      config: original?.config ?? { image: '' },
      createdAt: now,
      expiresAt: new Date(now.getTime() + lifetime),
      // The restored sandbox is the caller's, like one it creates.
      owner: this.tenancy.newOwner(),
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
      // Host ports belong to the original (still holding them); a restored sandbox publishes its own anew.
      const { ports: _ports, ...restored } = info.config ?? { image: info.image };
      let config = withSecretsOf(restored, original?.config);
      if (original !== undefined)
        config = await carryRequestSettings(this.runtime, id, config, original.config);
      const record: SandboxRecord = { ...placeholder, image: config.image, config, status: 'running' };
      this.store.updateSandbox(record);
      this.metrics.sandboxCreated('restore');
      return record;
    } catch (error) {
      await this.runtime.remove(id).catch(() => undefined);
      this.store.deleteSandbox(id);
      this.metrics.sandboxCreateFailed('restore');
      throw error;
    }
  }

  /**
   * Copies a running sandbox `count` times (files, tmpfs contents and configuration; not processes, not host
   * ports, which bind only once, nor S3 sync settings). Each copy has its own id, address and lifetime of the
   * original's length. All or none: on failure no copy is left.
   */
  async fork(id: string, count: number): Promise<SandboxView[]> {
    checkForkCount(count);
    this.record(id);
    return this.audited({ action: 'sandbox.fork', sandboxId: id, detail: { count } }, () =>
      this.forkRecord(id, count),
    );
  }

  private async forkRecord(id: string, count: number): Promise<SandboxView[]> {
    const original = await this.usable(id);
    this.admissionGate();
    // The copies are the caller's, like sandboxes it creates (and count against its quota).
    const owner = this.tenancy.newOwner();
    const records = forkRecords(original, count, this.clock.now(), this.policy.defaultTimeoutMs).map(
      (record) => ({ ...record, owner }),
    );
    const config = records[0]?.config ?? forkConfig(original.config);
    const reserved: string[] = [];
    try {
      for (const record of records) {
        await this.reserve(record);
        reserved.push(record.id);
      }
      await this.runtime.fork(
        id,
        records.map((record) => record.id),
        { config },
      );
    } catch (error) {
      for (const reservedId of reserved) this.store.deleteSandbox(reservedId);
      this.metrics.sandboxCreateFailed('fork');
      throw error;
    }
    for (const record of records) {
      record.status = 'running';
      this.store.updateSandbox(record);
      this.metrics.sandboxCreated('fork');
    }
    this.logger.info({ sandbox: id, copies: records.map((record) => record.id) }, 'sandbox forked');
    return records;
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    const snapshot = this.snapshot(snapshotId);
    return this.audited(
      { action: 'snapshot.delete', sandboxId: snapshot.sandboxId, detail: { snapshot: snapshotId } },
      async () => {
        await this.runtime.removeSnapshot(snapshotId).catch((error: unknown) => {
          if (!isBurrowError(error, 'SNAPSHOT_NOT_FOUND')) throw error;
        });
        this.store.deleteSnapshot(snapshotId);
      },
    );
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

  /** Each tenant's use against its quota (every tenant for an admin; its own for a tenant key). */
  tenantUsage(known: string[] = []): TenantUsage[] {
    return this.tenancy.usage(known);
  }

  /** Counts of the sandboxes the caller may see. */
  systemStats(): SystemStats {
    const records = this.list();
    return {
      running: records.filter((record) => record.status === 'running').length,
      paused: records.filter((record) => record.status === 'paused').length,
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
