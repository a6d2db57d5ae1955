/**
 * The warm pool: sandboxes created ahead of demand with the server's default profile, so that a create whose shape
 * matches a pool is served by taking a running member instead of creating a container.
 *
 * Bookkeeping, and why it survives a crash:
 * - An idle member is a sandbox created with `CreateOptions.pool = <key>`; the backend marks it (Docker: the
 *   `burrow.pool` label), and the store has no record of it. Idle members are not sandboxes to the API.
 * - Taking a member is the engine's job (engine.create): it records the sandbox in the store under the member's
 *   pre-generated id (status `creating`), applies the request's limits (`runtime.updateLimits`), then marks the
 *   record `running`. From then on the store's record is the truth: its configuration carries the request's env
 *   (applied to every exec), labels, limits and lifetime. The backend's mark cannot change on a running container
 *   and is simply ignored once a record exists.
 * - Boot: reconcile treats a `creating` record whose sandbox still carries a pool mark as an interrupted take and
 *   removes both; unrecorded members are handed to `start`, which adopts running ones of a configured pool
 *   (same key: same image, profile and Burrow version) and removes the rest.
 */
import { createHash } from 'node:crypto';
import { newSandboxId } from '../ids.js';
import type { Logger } from '../logger.js';
import type {
  IsolationRuntime,
  Runtime,
  SandboxConfig,
  SandboxInfo,
  SandboxLimits,
  TmpfsMount,
} from '../runtime/runtime.js';
import { BURROW_VERSION } from '../version.js';

export interface WarmPoolSpec {
  image: string;
  size: number;
  /** Isolation of the pool's members; the server's default when absent. */
  runtime?: IsolationRuntime | undefined;
}

export interface WarmMember {
  id: string;
  /** The pool's key, as marked on the sandbox. */
  key: string;
  /** The configuration the member was created with (the pool's profile). */
  config: SandboxConfig;
}

export interface WarmPoolStats {
  /** Members the pools aim to hold (0 while memory is short). */
  target: number;
  ready: number;
  creating: number;
  /** True while host memory is short: idle members were released and refilling waits. */
  memoryShort: boolean;
  pools: { image: string; size: number; ready: number; creating: number }[];
}

export interface WarmPoolOptions {
  runtime: Runtime;
  pools: readonly WarmPoolSpec[];
  /** The default profile: the configuration a create of just `{image, runtime}` is admitted with. */
  profile: (image: string, runtime?: IsolationRuntime) => SandboxConfig;
  /** The server's default tmpfs mounts: part of the profile, so a change of them retires old members. */
  defaultTmpfs?: readonly TmpfsMount[];
  logger: Logger;
  /** Members created at the same time, across all pools; default 2. */
  concurrency?: number;
  /** True while host memory is short: the pool releases its idle members and does not refill. */
  memoryShort?: () => boolean;
  /** How often memory is checked; default 5 s. */
  checkIntervalMs?: number;
  /** First delay after a failed create, doubled on each further failure up to 60 s; default 1 s. */
  retryMs?: number;
}

/** `busybox` and `busybox:latest` are one image. */
export function normaliseImage(image: string): string {
  if (image.includes('@')) return image;
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':') ? image : `${image}:latest`;
}

/** Merges `sandbox.warm_pool_size` (the default image) and `sandbox.warm_pools`; a later entry for an image wins. */
export function warmPoolSpecs(
  defaultImage: string,
  defaultSize: number,
  pools: readonly WarmPoolSpec[],
): WarmPoolSpec[] {
  const byImage = new Map<string, WarmPoolSpec>();
  for (const spec of [{ image: defaultImage, size: defaultSize } as WarmPoolSpec, ...pools]) {
    const image = spec.image === '' ? defaultImage : spec.image;
    // One pool per image and isolation runtime.
    byImage.set(`${normaliseImage(image)} ${spec.runtime ?? ''}`, {
      image,
      size: spec.size,
      ...(spec.runtime === undefined ? {} : { runtime: spec.runtime }),
    });
  }
  return [...byImage.values()].filter((spec) => spec.size > 0);
}

/** The key marked on a pool's members: changes when the image, the profile or Burrow's version does. */
export function poolKey(config: SandboxConfig, defaultTmpfs: readonly TmpfsMount[] = []): string {
  const digest = createHash('sha256')
    .update(
      JSON.stringify({
        version: BURROW_VERSION,
        config: { ...config, image: normaliseImage(config.image) },
        defaultTmpfs,
      }),
    )
    .digest('hex');
  return digest.slice(0, 16);
}

/** Fields a request may set freely on a taken member: applied at exec time (env), in the store, or by update. */
const PER_REQUEST = new Set(['env', 'labels', 'cpu', 'memory', 'pidLimit']);
/** Fields fixed when a container is created: a request must leave them as the profile has them. */
const SHAPE = new Set(['image', 'networkMode', 'writableRootfs', 'ports', 'storage', 'runtime']);

function emptyStorage(config: SandboxConfig): boolean {
  const storage = config.storage;
  if (storage === undefined) return true;
  return (
    (storage.volumes ?? []).length === 0 && (storage.tmpfs ?? []).length === 0 && storage.s3 === undefined
  );
}

/**
 * Whether a member of a pool with this profile can serve a request: same image, network mode, root filesystem
 * mode, no ports, no storage, and nothing else that only a container create can set (cmd, workdir, disk limit,
 * network id, or any field this function does not know). Without storage, the engine's create hooks (S3) have
 * nothing to prepare, so a taken member skips them safely.
 */
export function fitsProfile(request: SandboxConfig, profile: SandboxConfig): boolean {
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined || PER_REQUEST.has(key)) continue;
    if (!SHAPE.has(key)) return false;
  }
  return (
    normaliseImage(request.image) === normaliseImage(profile.image) &&
    (request.networkMode ?? 'internal') === (profile.networkMode ?? 'internal') &&
    (request.writableRootfs === true) === (profile.writableRootfs === true) &&
    (request.runtime ?? 'runc') === (profile.runtime ?? 'runc') &&
    (request.ports ?? []).length === 0 &&
    emptyStorage(request)
  );
}

/** The limits a member must change to take a request; undefined when it already has them. */
export function limitChanges(member: SandboxConfig, request: SandboxConfig): SandboxLimits | undefined {
  const changes: SandboxLimits = {};
  if ((request.cpu ?? 0) !== (member.cpu ?? 0)) changes.cpu = request.cpu ?? 0;
  if ((request.memory ?? 0) !== (member.memory ?? 0)) changes.memory = request.memory ?? 0;
  if ((request.pidLimit ?? 0) !== (member.pidLimit ?? 0)) changes.pidLimit = request.pidLimit ?? 0;
  return Object.keys(changes).length === 0 ? undefined : changes;
}

/** Gives a taken member a request's limits; false (and the member removed) when it cannot take them. */
export async function fitMember(
  runtime: Runtime,
  member: WarmMember,
  request: SandboxConfig,
  logger: Logger,
): Promise<boolean> {
  const changes = limitChanges(member.config, request);
  try {
    if (changes !== undefined) await runtime.updateLimits(member.id, changes);
    return true;
  } catch (error) {
    logger.warn(
      { err: error, sandbox: member.id },
      'a warm-pool sandbox could not take the requested limits; creating one cold',
    );
    await runtime.remove(member.id);
    return false;
  }
}

/**
 * Exec options with the sandbox's own env underneath the call's. A sandbox taken from the warm pool was created
 * without its request's env, so its record's env is applied here; for any other sandbox it repeats what the
 * container already has.
 */
export function withSandboxEnv<T extends { env?: Record<string, string> }>(
  config: SandboxConfig,
  options: T,
): T {
  if (config.env === undefined || Object.keys(config.env).length === 0) return options;
  return { ...options, env: { ...config.env, ...options.env } };
}

/**
 * The configuration of a sandbox restored from a snapshot of `original`: a snapshot records its container's
 * configuration, which for a sandbox taken from the warm pool is the pool's profile, so the original's env,
 * labels and limits (its record's) are carried over, and the limits applied. A no-op for any other original.
 */
export async function carryRequestSettings(
  runtime: Runtime,
  id: string,
  restored: SandboxConfig,
  original: SandboxConfig,
): Promise<SandboxConfig> {
  const carried: SandboxConfig = { ...restored };
  for (const key of ['env', 'labels', 'cpu', 'memory', 'pidLimit'] as const) {
    if (original[key] === undefined) delete carried[key];
    else Object.assign(carried, { [key]: original[key] });
  }
  const changes = limitChanges(restored, carried);
  if (changes !== undefined) await runtime.updateLimits(id, changes);
  return carried;
}

interface Pool {
  spec: WarmPoolSpec;
  key: string;
  config: SandboxConfig;
  idle: WarmMember[];
  creating: number;
  failures: number;
  retryAt: number;
}

export class WarmPool {
  private readonly runtime: Runtime;
  private readonly logger: Logger;
  private readonly pools: Pool[];
  private readonly concurrency: number;
  private readonly memoryShort: () => boolean;
  private readonly retryMs: number;
  private readonly checkIntervalMs: number;
  private readonly work = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private short = false;
  private closed = false;
  private started = false;

  constructor(options: WarmPoolOptions) {
    this.runtime = options.runtime;
    this.logger = options.logger;
    this.concurrency = Math.max(1, options.concurrency ?? 2);
    this.memoryShort = options.memoryShort ?? (() => false);
    this.retryMs = options.retryMs ?? 1000;
    this.checkIntervalMs = options.checkIntervalMs ?? 5000;
    this.pools = options.pools.map((spec) => {
      const config = options.profile(spec.image, spec.runtime);
      return {
        spec,
        key: poolKey(config, options.defaultTmpfs),
        config,
        idle: [],
        creating: 0,
        failures: 0,
        retryAt: 0,
      };
    });
  }

  /**
   * Takes over the members a previous run left (sandboxes marked as pool members that the store does not know,
   * as reconcile hands them over): running members of a configured pool are adopted up to its size, the rest are
   * removed. Then filling starts, in the background.
   */
  async start(leftovers: readonly SandboxInfo[] = []): Promise<void> {
    const removals: Promise<void>[] = [];
    for (const info of leftovers) {
      const pool = this.pools.find((candidate) => candidate.key === info.pool);
      if (
        pool !== undefined &&
        info.status === 'running' &&
        pool.idle.length < pool.spec.size &&
        !this.closed
      ) {
        pool.idle.push({ id: info.id, key: pool.key, config: pool.config });
      } else {
        removals.push(this.removeMember(info.id));
      }
    }
    await Promise.all(removals);
    const adopted = this.pools.reduce((sum, pool) => sum + pool.idle.length, 0);
    if (leftovers.length > 0)
      this.logger.info(
        { adopted, removed: removals.length },
        'took over warm-pool members left by a previous run',
      );
    this.started = true;
    if (this.pools.length === 0) return;
    this.timer = setInterval(() => this.check(), this.checkIntervalMs);
    this.timer.unref();
    this.check();
  }

  /** A running idle member able to serve this (admitted) request, removed from the pool; refilling starts. */
  take(request: SandboxConfig): WarmMember | undefined {
    if (this.closed) return undefined;
    const pool = this.pools.find(
      (candidate) => candidate.idle.length > 0 && fitsProfile(request, candidate.config),
    );
    const member = pool?.idle.shift();
    if (member !== undefined) this.fill();
    return member;
  }

  /** Returns a member taken but not used (the create was refused before touching it). */
  giveBack(member: WarmMember): void {
    const pool = this.pools.find((candidate) => candidate.key === member.key);
    if (pool === undefined || this.closed || this.short || pool.idle.length >= pool.spec.size) {
      this.track(this.removeMember(member.id));
      return;
    }
    pool.idle.unshift(member);
  }

  /** The runtime reports that a sandbox died or vanished: if it was an idle member, it is replaced. */
  forget(id: string): void {
    for (const pool of this.pools) {
      const index = pool.idle.findIndex((member) => member.id === id);
      if (index < 0) continue;
      pool.idle.splice(index, 1);
      this.logger.warn({ sandbox: id }, 'an idle warm-pool sandbox stopped; replacing it');
      this.track(this.removeMember(id));
      this.fill();
      return;
    }
  }

  stats(): WarmPoolStats {
    const pools = this.pools.map((pool) => ({
      image: pool.spec.image,
      size: pool.spec.size,
      ready: pool.idle.length,
      creating: pool.creating,
    }));
    return {
      target: this.short ? 0 : pools.reduce((sum, pool) => sum + pool.size, 0),
      ready: pools.reduce((sum, pool) => sum + pool.ready, 0),
      creating: pools.reduce((sum, pool) => sum + pool.creating, 0),
      memoryShort: this.short,
      pools,
    };
  }

  /** Stops filling, waits for creates in flight and removes every idle member. Idempotent. */
  async drain(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    while (this.work.size > 0) await Promise.all([...this.work]);
    const members = this.pools.flatMap((pool) => pool.idle.splice(0));
    await Promise.all(members.map((member) => this.removeMember(member.id)));
    if (members.length > 0) this.logger.info({ removed: members.length }, 'drained the warm pool');
  }

  /** Resolves once no member is being created or removed (tests; the bench waits for a full pool). */
  async settled(): Promise<void> {
    while (this.work.size > 0) await Promise.all([...this.work]);
  }

  // ---------------------------------------------------------------- filling

  private check(): void {
    if (this.closed) return;
    let short: boolean;
    try {
      short = this.memoryShort();
    } catch (error) {
      this.logger.error({ err: error }, 'could not measure host memory for the warm pool');
      short = false;
    }
    if (short !== this.short) {
      this.short = short;
      if (short)
        this.logger.warn({}, 'host memory is short: releasing idle warm-pool sandboxes and pausing refills');
      else this.logger.info({}, 'host memory recovered: refilling the warm pool');
    }
    if (short) {
      const members = this.pools.flatMap((pool) => pool.idle.splice(0));
      for (const member of members) this.track(this.removeMember(member.id));
      return;
    }
    this.fill();
  }

  private inFlight(): number {
    return this.pools.reduce((sum, pool) => sum + pool.creating, 0);
  }

  /** Starts creates for the pools below their size, within the concurrency bound; never waits for them. */
  private fill(): void {
    if (this.closed || this.short || !this.started) return;
    const now = Date.now();
    let progress = true;
    while (progress && this.inFlight() < this.concurrency) {
      progress = false;
      // The emptiest pool first, so one slow image does not starve the others.
      const pool = this.pools
        .filter(
          (candidate) =>
            candidate.idle.length + candidate.creating < candidate.spec.size && candidate.retryAt <= now,
        )
        .sort(
          (a, b) => (a.idle.length + a.creating) / a.spec.size - (b.idle.length + b.creating) / b.spec.size,
        )[0];
      if (pool === undefined) break;
      pool.creating += 1;
      this.track(this.createMember(pool));
      progress = true;
    }
    const waiting = this.pools.filter(
      (pool) => pool.retryAt > now && pool.idle.length + pool.creating < pool.spec.size,
    );
    if (waiting.length > 0 && this.retryTimer === undefined) {
      const delay = Math.max(0, Math.min(...waiting.map((pool) => pool.retryAt)) - now);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.fill();
      }, delay);
      this.retryTimer.unref();
    }
  }

  private async createMember(pool: Pool): Promise<void> {
    const id = newSandboxId();
    try {
      await this.runtime.create(id, pool.config, { pool: pool.key });
      await this.runtime.start(id);
      pool.failures = 0;
      if (this.closed || this.short || pool.idle.length >= pool.spec.size) {
        await this.removeMember(id);
      } else {
        pool.idle.push({ id, key: pool.key, config: pool.config });
      }
    } catch (error) {
      pool.failures += 1;
      pool.retryAt = Date.now() + Math.min(this.retryMs * 2 ** (pool.failures - 1), 60_000);
      this.logger.error(
        { err: error, image: pool.spec.image, failures: pool.failures },
        'could not create a warm-pool sandbox',
      );
      await this.removeMember(id);
    } finally {
      pool.creating -= 1;
    }
    this.fill();
  }

  private async removeMember(id: string): Promise<void> {
    try {
      await this.runtime.remove(id);
    } catch (error) {
      this.logger.error({ err: error, sandbox: id }, 'could not remove a warm-pool sandbox');
    }
  }

  private track(work: Promise<void>): void {
    this.work.add(work);
    void work.finally(() => this.work.delete(work));
  }
}
