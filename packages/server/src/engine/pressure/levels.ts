/**
 * Den's five memory-pressure levels (den-api.md §11.6): a score (used / total host memory, used = total −
 * MemAvailable) against four thresholds, plus Burrow's second signal, the kernel's pressure stall information
 * (how long tasks waited for memory), so that a host busy reclaiming reads as pressed even when page-cache
 * accounting looks fine. A level changes only after two consecutive samples agree.
 */
export type PressureLevel = 'normal' | 'warning' | 'high' | 'critical' | 'emergency';

export const LEVELS: readonly PressureLevel[] = ['normal', 'warning', 'high', 'critical', 'emergency'];

export function rank(level: PressureLevel): number {
  return LEVELS.indexOf(level);
}

export function maxLevel(a: PressureLevel, b: PressureLevel): PressureLevel {
  return rank(a) >= rank(b) ? a : b;
}

/** Score thresholds (fractions of host memory in use). */
export interface ScoreThresholds {
  warning: number;
  high: number;
  critical: number;
  emergency: number;
}

/** Den's derivation from `resource.pressure_threshold` (high) and `resource.critical_threshold`. */
export function scoreThresholds(pressureThreshold: number, criticalThreshold: number): ScoreThresholds {
  // Rounded, so that 0.8 - 0.1 is 0.7 and a score of exactly 0.70 reads warning, as Den's tests pin it.
  const round = (value: number) => Math.round(value * 1e9) / 1e9;
  return {
    warning: round(pressureThreshold - 0.1),
    high: pressureThreshold,
    critical: criticalThreshold,
    emergency: round(criticalThreshold + 0.05),
  };
}

/** The highest level whose threshold the score reaches. */
export function scoreLevel(score: number, thresholds: ScoreThresholds): PressureLevel {
  if (score >= thresholds.emergency) return 'emergency';
  if (score >= thresholds.critical) return 'critical';
  if (score >= thresholds.high) return 'high';
  if (score >= thresholds.warning) return 'warning';
  return 'normal';
}

/** The score at which the next level starts (`1.0` from emergency), as Den reports it. */
export function nextThreshold(level: PressureLevel, thresholds: ScoreThresholds): number {
  switch (level) {
    case 'normal':
      return thresholds.warning;
    case 'warning':
      return thresholds.high;
    case 'high':
      return thresholds.critical;
    case 'critical':
      return thresholds.emergency;
    case 'emergency':
      return 1;
  }
}

/** `/proc/pressure/memory`: percent of the last 10 s in which some (or all) runnable tasks stalled on memory. */
export interface MemoryStall {
  someAvg10: number;
  fullAvg10: number;
}

/** Stall percentages at which the host counts as warning / high (some tasks) and critical (all tasks). */
export interface StallThresholds {
  warning: number;
  high: number;
  critical: number;
}

export function stallLevel(stall: MemoryStall | undefined, thresholds: StallThresholds): PressureLevel {
  if (stall === undefined) return 'normal';
  if (thresholds.critical > 0 && stall.fullAvg10 >= thresholds.critical) return 'critical';
  if (thresholds.high > 0 && stall.someAvg10 >= thresholds.high) return 'high';
  if (thresholds.warning > 0 && stall.someAvg10 >= thresholds.warning) return 'warning';
  return 'normal';
}

/** Den's hysteresis: a different level must be seen on two consecutive samples before it becomes current. */
export class Hysteresis {
  private pending: PressureLevel | undefined;
  private count = 0;

  constructor(public current: PressureLevel = 'normal') {}

  /** Feeds one sample's level; true when the current level changed. */
  observe(level: PressureLevel): boolean {
    if (level === this.current) {
      this.pending = undefined;
      this.count = 0;
      return false;
    }
    if (level === this.pending) this.count += 1;
    else {
      this.pending = level;
      this.count = 1;
    }
    if (this.count < 2) return false;
    this.current = level;
    this.pending = undefined;
    this.count = 0;
    return true;
  }
}
