/**
 * Lifetimes that follow use: each API call into a sandbox (exec, files, attach, proxy traffic) is activity;
 * `idleTimeoutMs` pushes the expiry to that long after the last activity, never past `maxLifetimeMs` from
 * creation; after `idleActionAfterMs` without activity a running sandbox is paused (or stopped). While paused,
 * the lifetime clock runs unless `expireWhilePaused` is off, in which case the paused time is added back on
 * resume and the reaper leaves the sandbox alone.
 */
import type { SandboxRecord, SandboxStore } from '../store/store.js';
import type { Clock } from './clock.js';

export interface LifetimePolicy {
  /** Exec and file calls on a paused sandbox resume it (else they answer 409). */
  autoResume: boolean;
  /** Expiry extended to this long after each activity; 0 = off (Den: a fixed lifetime). */
  idleTimeoutMs: number;
  /** The latest an activity extension may push the expiry, from creation; 0 = no cap. */
  maxLifetimeMs: number;
  idleAction: 'pause' | 'stop';
  /** A running sandbox without activity for this long gets `idleAction`; 0 = never. */
  idleActionAfterMs: number;
  /** Whether the lifetime clock runs while a sandbox is paused. */
  expireWhilePaused: boolean;
}

export const DEFAULT_LIFETIME_POLICY: LifetimePolicy = {
  autoResume: true,
  idleTimeoutMs: 0,
  maxLifetimeMs: 0,
  idleAction: 'pause',
  idleActionAfterMs: 0,
  expireWhilePaused: true,
};

/** Activity is recorded at most this often per sandbox (a busy sandbox must not mean a write per call). */
const ACTIVITY_WRITE_MS = 1000;

export class Lifetimes {
  constructor(
    private readonly store: SandboxStore,
    private readonly clock: Clock,
    readonly policy: LifetimePolicy,
  ) {}

  /** Records use of a sandbox now, extending its expiry when the policy says so. */
  touch(id: string): void {
    const record = this.store.getSandbox(id);
    if (record === undefined || record.status === 'creating') return;
    const now = this.clock.now();
    const extended = this.extendedExpiry(record, now);
    const stale =
      record.lastActivityAt === undefined ||
      now.getTime() - record.lastActivityAt.getTime() >= ACTIVITY_WRITE_MS;
    if (!stale && extended === undefined) return;
    record.lastActivityAt = now;
    if (extended !== undefined) record.expiresAt = extended;
    this.store.updateSandbox(record);
  }

  private extendedExpiry(record: SandboxRecord, now: Date): Date | undefined {
    const { idleTimeoutMs, maxLifetimeMs } = this.policy;
    if (idleTimeoutMs <= 0 || record.expiresAt === undefined) return undefined;
    let target = now.getTime() + idleTimeoutMs;
    if (maxLifetimeMs > 0) target = Math.min(target, record.createdAt.getTime() + maxLifetimeMs);
    return target > record.expiresAt.getTime() + ACTIVITY_WRITE_MS ? new Date(target) : undefined;
  }

  /** The record as paused now. */
  paused(record: SandboxRecord): SandboxRecord {
    return { ...record, status: 'paused', pausedAt: this.clock.now() };
  }

  /** The record as resumed now: with the clock stopped while paused, the paused time is added to its expiry. */
  resumed(record: SandboxRecord): SandboxRecord {
    const next: SandboxRecord = { ...record, status: 'running', lastActivityAt: this.clock.now() };
    if (!this.policy.expireWhilePaused && record.pausedAt !== undefined && record.expiresAt !== undefined) {
      const pausedFor = Math.max(0, this.clock.now().getTime() - record.pausedAt.getTime());
      next.expiresAt = new Date(record.expiresAt.getTime() + pausedFor);
    }
    delete next.pausedAt;
    return next;
  }

  /** Whether the reaper destroys this sandbox now. */
  isExpired(record: SandboxRecord, now: Date): boolean {
    if (record.status === 'creating' || record.expiresAt === undefined) return false;
    if (record.status === 'paused' && !this.policy.expireWhilePaused) return false;
    return record.expiresAt.getTime() <= now.getTime();
  }

  /** Running sandboxes idle for longer than the policy allows, idlest first. */
  idle(records: readonly SandboxRecord[], now: Date): SandboxRecord[] {
    const after = this.policy.idleActionAfterMs;
    if (after <= 0) return [];
    return idlestFirst(records.filter((record) => record.status === 'running')).filter(
      (record) => now.getTime() - lastUse(record).getTime() >= after,
    );
  }
}

/** When a sandbox was last used: its last activity, else its creation. */
export function lastUse(record: SandboxRecord): Date {
  return record.lastActivityAt ?? record.createdAt;
}

export function idlestFirst(records: readonly SandboxRecord[]): SandboxRecord[] {
  return [...records].sort((a, b) => lastUse(a).getTime() - lastUse(b).getTime());
}
