/**
 * The memory-pressure monitor: samples the host every interval, turns score and stalls into Den's level (with
 * two-sample hysteresis), refuses new sandboxes at critical and above, and relieves the host in escalating steps,
 * each logged and listed in `/resources`:
 *   - high and above: the warm pool releases its idle members and stops refilling (`memoryShort`), and every
 *     running sandbox gets a soft memory limit L = 0.8 × available / running (at least `minMemoryFloor`), so the
 *     kernel reclaims from the biggest users first; nothing is killed (Den lowered hard limits, which OOM-kills);
 *   - critical and above: sandboxes idle for `pauseIdleAfterMs` are paused, idlest first, on every sample;
 *   - back to warning or normal: the soft limits are lifted. Paused sandboxes stay paused until used.
 * Throttling and pausing happen only with `autoThrottle`; the level, the admission refusal and the log always.
 */
import { BurrowError } from '@burrow/protocol';
import type { Logger } from '../../logger.js';
import type { SandboxMemory } from '../../runtime/runtime.js';
import type { Clock } from '../clock.js';
import {
  Hysteresis,
  maxLevel,
  nextThreshold,
  rank,
  scoreLevel,
  stallLevel,
  type MemoryStall,
  type PressureLevel,
  type ScoreThresholds,
  type StallThresholds,
} from './levels.js';

export interface HostMemorySample {
  total: number;
  available: number;
  /** Absent where the kernel has no pressure stall information. */
  stall?: MemoryStall;
}

export interface HostMemorySource {
  sample(): Promise<HostMemorySample>;
}

/** What the monitor acts on: the engine's sandboxes. */
export interface PressureTargets {
  /** Running sandboxes with when they were last used. */
  running(): { id: string; lastUse: Date }[];
  setSoftLimit(id: string, bytes: number): Promise<void>;
  pause(id: string): Promise<void>;
  memory(id: string): Promise<SandboxMemory>;
}

export interface PressureOptions {
  source: HostMemorySource;
  targets: PressureTargets;
  scoreThresholds: ScoreThresholds;
  stallThresholds: StallThresholds;
  intervalMs: number;
  autoThrottle: boolean;
  minMemoryFloor: number;
  /** At critical and above, sandboxes idle this long are paused; 0 = never. */
  pauseIdleAfterMs: number;
  clock: Clock;
  logger: Logger;
}

export type PressureActionKind = 'throttle' | 'unthrottle' | 'pause' | 'warm_pool_release' | 'refuse_creates';

export interface PressureAction {
  at: Date;
  action: PressureActionKind;
  /** Sandboxes it touched (throttle, unthrottle, pause). */
  sandboxes: string[];
  reason: string;
}

export interface PressureState {
  level: PressureLevel;
  canCreate: boolean;
  score: number;
  nextThreshold: number;
  /** The latest raw sample (zeros before the first). */
  sample: HostMemorySample;
  /** Why the level is what it is. */
  reason: string;
  /** The soft limit applied at high and above, 0 when none is. */
  softLimit: number;
  throttled: number;
  /** The biggest sandboxes' memory (up to 5), sampled at warning and above. */
  top: ({ id: string } & SandboxMemory)[];
  /** The latest actions, newest last (up to 20). */
  actions: PressureAction[];
}

const MAX_ACTIONS = 20;
const TOP_SANDBOXES = 5;
/** Sandboxes measured per sample for the top list (each is a few cgroup file reads). */
const MEASURED = 50;

export class PressureMonitor {
  private readonly hysteresis = new Hysteresis();
  private sample: HostMemorySample = { total: 0, available: 0 };
  private reason = 'not sampled yet';
  private softLimit = 0;
  private readonly throttled = new Set<string>();
  private top: PressureState['top'] = [];
  private readonly actions: PressureAction[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();

  constructor(private readonly options: PressureOptions) {}

  /** Takes the first sample at once, then one every interval. */
  start(): void {
    if (this.timer !== undefined) return;
    this.ticking = this.tick();
    this.timer = setInterval(() => {
      this.ticking = this.ticking.then(() => this.tick());
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }

  get level(): PressureLevel {
    return this.hysteresis.current;
  }

  /** Throws MEMORY_PRESSURE (503, Den's message) while the confirmed level is critical or above. */
  checkCanCreate(): void {
    if (rank(this.level) >= rank('critical')) {
      throw new BurrowError('MEMORY_PRESSURE', 'host under critical memory pressure', { level: this.level });
    }
  }

  /** For the warm pool: idle members are released while the level is high or above. */
  memoryShort(): boolean {
    return rank(this.level) >= rank('high');
  }

  state(): PressureState {
    const { total, available } = this.sample;
    return {
      level: this.level,
      canCreate: rank(this.level) < rank('critical'),
      score: total > 0 ? (total - available) / total : 0,
      nextThreshold: nextThreshold(this.level, this.options.scoreThresholds),
      sample: this.sample,
      reason: this.reason,
      softLimit: this.softLimit,
      throttled: this.throttled.size,
      top: this.top,
      actions: [...this.actions],
    };
  }

  /** One sample and what follows from it; never throws (a failed sample is logged and skipped). */
  async tick(): Promise<void> {
    try {
      this.sample = await this.options.source.sample();
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not sample host memory');
      return;
    }
    const { total, available, stall } = this.sample;
    const score = total > 0 ? (total - available) / total : 0;
    const byScore = scoreLevel(score, this.options.scoreThresholds);
    const byStall = stallLevel(stall, this.options.stallThresholds);
    const observed = maxLevel(byScore, byStall);
    const previous = this.level;
    if (this.hysteresis.observe(observed)) {
      this.reason = describe(observed, score, byScore, byStall, stall);
      await this.transition(previous, observed);
    } else if (observed === this.level) {
      this.reason = describe(observed, score, byScore, byStall, stall);
    }
    await this.sustain();
  }

  private record(action: PressureActionKind, sandboxes: string[], reason: string): void {
    this.actions.push({ at: this.options.clock.now(), action, sandboxes, reason });
    if (this.actions.length > MAX_ACTIONS) this.actions.splice(0, this.actions.length - MAX_ACTIONS);
    this.options.logger.warn({ action, sandboxes, reason }, `memory pressure: ${action}`);
  }

  private async transition(from: PressureLevel, to: PressureLevel): Promise<void> {
    const log = { from, to, reason: this.reason };
    if (rank(to) >= rank('critical')) {
      this.options.logger.error(log, 'host under critical memory pressure: refusing new sandboxes');
      this.record('refuse_creates', [], this.reason);
    } else this.options.logger.warn(log, 'memory pressure level changed');
    const high = rank(to) >= rank('high');
    if (high && rank(from) < rank('high')) {
      this.record(
        'warm_pool_release',
        [],
        `level ${to}: idle warm-pool sandboxes are released, refills wait`,
      );
    }
    if (!this.options.autoThrottle) return;
    if (high) {
      const running = this.options.targets.running();
      const { total, available } = this.sample;
      const share = Math.floor((0.8 * Math.max(0, Math.min(available, total))) / Math.max(1, running.length));
      this.softLimit = Math.max(this.options.minMemoryFloor, share);
      this.throttled.clear();
    } else if (this.throttled.size > 0 || this.softLimit > 0) {
      const lifted = [...this.throttled];
      this.softLimit = 0;
      this.throttled.clear();
      const done = await this.each(lifted, (id) => this.options.targets.setSoftLimit(id, 0));
      this.record('unthrottle', done, `level ${to}: soft memory limits lifted`);
    }
  }

  /** What holds at the current level on every sample: soft limits on new sandboxes, pausing idle ones. */
  private async sustain(): Promise<void> {
    const level = this.level;
    const running = this.options.targets.running();
    this.top =
      rank(level) >= rank('warning')
        ? await this.measure(running.slice(0, MEASURED).map((entry) => entry.id))
        : [];
    if (!this.options.autoThrottle) return;
    if (rank(level) >= rank('high') && this.softLimit > 0) {
      const fresh = running.map((entry) => entry.id).filter((id) => !this.throttled.has(id));
      const done = await this.each(fresh, (id) => this.options.targets.setSoftLimit(id, this.softLimit));
      for (const id of done) this.throttled.add(id);
      if (done.length > 0) {
        this.record(
          'throttle',
          done,
          `level ${level}: soft memory limit of ${this.softLimit} bytes (${this.reason})`,
        );
      }
    }
    const after = this.options.pauseIdleAfterMs;
    if (rank(level) >= rank('critical') && after > 0) {
      const now = this.options.clock.now().getTime();
      const idle = running
        .filter((entry) => now - entry.lastUse.getTime() >= after)
        .sort((a, b) => a.lastUse.getTime() - b.lastUse.getTime())
        .map((entry) => entry.id);
      // Paused sandboxes keep their soft limit (lifted with the others), so they resume no bigger than they were.
      const done = await this.each(idle, (id) => this.options.targets.pause(id));
      if (done.length > 0) {
        this.record(
          'pause',
          done,
          `level ${level}: paused sandboxes idle for ${Math.round(after / 1000)} s or more`,
        );
      }
    }
  }

  /** Runs `work` for each id; returns those it succeeded for (failures are logged: the sandbox may be gone). */
  private async each(ids: string[], work: (id: string) => Promise<void>): Promise<string[]> {
    const done: string[] = [];
    for (const id of ids) {
      try {
        await work(id);
        done.push(id);
      } catch (error) {
        this.options.logger.debug({ err: error, sandbox: id }, 'memory pressure action skipped');
      }
    }
    return done;
  }

  private async measure(ids: string[]): Promise<PressureState['top']> {
    const measured: PressureState['top'] = [];
    for (const id of ids) {
      try {
        measured.push({ id, ...(await this.options.targets.memory(id)) });
      } catch {
        // Gone meanwhile.
      }
    }
    return measured.sort((a, b) => b.usage - a.usage).slice(0, TOP_SANDBOXES);
  }
}

function describe(
  level: PressureLevel,
  score: number,
  byScore: PressureLevel,
  byStall: PressureLevel,
  stall: MemoryStall | undefined,
): string {
  const parts = [`memory ${(score * 100).toFixed(1)}% used (${byScore})`];
  if (stall !== undefined) {
    parts.push(
      `stalls some ${stall.someAvg10.toFixed(1)}% full ${stall.fullAvg10.toFixed(1)}% over 10 s (${byStall})`,
    );
  }
  return `${level}: ${parts.join(', ')}`;
}
