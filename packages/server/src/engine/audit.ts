/**
 * The audit log: who (the key's name) did what (create, exec argv, file writes by path, destroy, key changes, ...)
 * to which sandbox, when and from where. Entries hold names, ids, argv and paths, never env values, stdin, file
 * contents or keys: callers pass only such facts in `detail`. Old entries are deleted after the retention period.
 */
import { isBurrowError } from '@burrow/protocol';
import type { Logger } from '../logger.js';
import type { AuditFilter, AuditRecord, AuditStore } from '../store/store.js';
import type { Caller, CallerContext } from './caller.js';
import { systemClock, type Clock } from './clock.js';

export interface AuditEvent {
  action: string;
  sandboxId?: string | undefined;
  detail?: Record<string, unknown>;
  /** Defaults to the caller of the work in progress. */
  caller?: Caller;
}

export interface AuditorOptions {
  store: AuditStore;
  callers: CallerContext;
  logger: Logger;
  clock?: Clock;
  /** How long entries are kept; 0 = for ever. */
  retentionMs: number;
}

/** How often old entries are deleted. */
const PRUNE_INTERVAL_MS = 3_600_000;

export class Auditor {
  private readonly store: AuditStore;
  private readonly callers: CallerContext;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly retentionMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: AuditorOptions) {
    this.store = options.store;
    this.callers = options.callers;
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.retentionMs = options.retentionMs;
  }

  /** Records one entry (at `at`, default now); a failure to write it is logged, never the caller's failure. */
  record(event: AuditEvent, outcome: string, at: Date = this.clock.now()): void {
    const caller = event.caller ?? this.callers.current();
    try {
      this.store.addAudit({
        at,
        keyId: caller.keyId,
        keyName: caller.keyName,
        tenant: caller.tenant,
        action: event.action,
        ...(event.sandboxId === undefined ? {} : { sandboxId: event.sandboxId }),
        ...(event.detail === undefined ? {} : { detail: event.detail }),
        outcome,
        ...(caller.address === undefined ? {} : { address: caller.address }),
      });
    } catch (error) {
      this.logger.error({ err: error, action: event.action }, 'could not write an audit entry');
    }
  }

  /**
   * Runs `work` and records it with its outcome (`ok` or the error code). The entry's time is when it started;
   * it is written once the work has settled (for a stream: once it is open).
   */
  async around<T>(event: AuditEvent, work: () => Promise<T>): Promise<T> {
    const caller = event.caller ?? this.callers.current();
    const at = this.clock.now();
    const write = (outcome: string) => this.record({ ...event, caller }, outcome, at);
    try {
      const result = await work();
      write('ok');
      return result;
    } catch (error) {
      write(isBurrowError(error) ? error.code : 'INTERNAL');
      throw error;
    }
  }

  /** Entries, newest first. */
  list(filter: AuditFilter): AuditRecord[] {
    return this.store.listAudit(filter);
  }

  /** Deletes entries past the retention period; returns how many. */
  prune(): number {
    if (this.retentionMs <= 0) return 0;
    const removed = this.store.pruneAudit(new Date(this.clock.now().getTime() - this.retentionMs));
    if (removed > 0) this.logger.info({ removed }, 'old audit entries deleted');
    return removed;
  }

  /** Prunes now and then every hour. */
  start(): void {
    this.safePrune();
    this.timer = setInterval(() => this.safePrune(), PRUNE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private safePrune(): void {
    try {
      this.prune();
    } catch (error) {
      this.logger.error({ err: error }, 'could not delete old audit entries');
    }
  }
}

/** A sandbox path as the audit log shows it: its text, with bytes that are not UTF-8 as `\xNN`. */
export function pathText(path: string | Uint8Array): string {
  if (typeof path === 'string') return path;
  const bytes = Buffer.from(path);
  const text = bytes.toString('utf8');
  if (Buffer.from(text, 'utf8').equals(bytes)) return text;
  return [...bytes]
    .map((byte) =>
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');
}
