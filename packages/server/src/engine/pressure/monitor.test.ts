/** The pressure monitor driven by a fake clock and scripted samples: levels, hysteresis and actions. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import { silentLogger } from '../../logger.js';
import type { SandboxMemory } from '../../runtime/runtime.js';
import { ProcHostMemory } from '../../host/host-memory.js';
import { Hysteresis, nextThreshold, scoreLevel, scoreThresholds, stallLevel } from './levels.js';
import { PressureMonitor, type HostMemorySample, type PressureTargets } from './monitor.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const thresholds = scoreThresholds(0.8, 0.9);

/** A host of 10 GiB with `used` fraction in use. */
const used = (fraction: number, stall?: HostMemorySample['stall']): HostMemorySample => ({
  total: 10 * GiB,
  available: Math.round(10 * GiB * (1 - fraction)),
  ...(stall === undefined ? {} : { stall }),
});

class Targets implements PressureTargets {
  soft = new Map<string, number>();
  paused: string[] = [];
  constructor(public sandboxes: { id: string; lastUse: Date }[]) {}
  running() {
    return this.sandboxes.filter((entry) => !this.paused.includes(entry.id));
  }
  setSoftLimit(id: string, bytes: number) {
    if (bytes === 0) this.soft.delete(id);
    else this.soft.set(id, bytes);
    return Promise.resolve();
  }
  pause(id: string) {
    this.paused.push(id);
    return Promise.resolve();
  }
  memory(id: string): Promise<SandboxMemory> {
    return Promise.resolve({ usage: id.length * MiB, softLimit: this.soft.get(id) ?? 0 });
  }
}

function monitor(samples: HostMemorySample[], targets: Targets, options: { autoThrottle?: boolean } = {}) {
  let time = Date.parse('2026-05-01T12:00:00Z');
  const clock = { now: () => new Date(time) };
  const queue = [...samples];
  const pressure = new PressureMonitor({
    source: { sample: () => Promise.resolve(queue.shift() ?? samples[samples.length - 1] ?? used(0)) },
    targets,
    scoreThresholds: thresholds,
    stallThresholds: { warning: 10, high: 30, critical: 10 },
    intervalMs: 5000,
    autoThrottle: options.autoThrottle ?? true,
    minMemoryFloor: 32 * MiB,
    pauseIdleAfterMs: 60_000,
    clock,
    logger: silentLogger,
  });
  return {
    pressure,
    advance: (ms: number) => (time += ms),
    push: (...more: HostMemorySample[]) => queue.push(...more),
  };
}

describe('pressure levels', () => {
  it("maps scores to Den's levels at Den's boundaries, with custom thresholds too", () => {
    const cases: [number, string][] = [
      [0.69, 'normal'],
      [0.7, 'warning'],
      [0.8, 'high'],
      [0.9, 'critical'],
      [0.95, 'emergency'],
    ];
    for (const [score, level] of cases) expect(scoreLevel(score, thresholds)).toBe(level);
    expect(scoreLevel(0.6, scoreThresholds(0.7, 0.8))).toBe('warning');
    expect(nextThreshold('normal', thresholds)).toBeCloseTo(0.7);
    expect(nextThreshold('critical', thresholds)).toBeCloseTo(0.95);
    expect(nextThreshold('emergency', thresholds)).toBe(1);
  });

  it('reads stalls: some tasks waiting is warning or high, all tasks waiting critical', () => {
    const stall = { warning: 10, high: 30, critical: 10 };
    expect(stallLevel(undefined, stall)).toBe('normal');
    expect(stallLevel({ someAvg10: 12, fullAvg10: 0 }, stall)).toBe('warning');
    expect(stallLevel({ someAvg10: 35, fullAvg10: 2 }, stall)).toBe('high');
    expect(stallLevel({ someAvg10: 50, fullAvg10: 15 }, stall)).toBe('critical');
  });

  it('changes level only after two consecutive samples; a matching sample resets the count', () => {
    const hysteresis = new Hysteresis();
    expect(hysteresis.observe('high')).toBe(false);
    expect(hysteresis.observe('normal')).toBe(false);
    expect(hysteresis.observe('high')).toBe(false);
    expect(hysteresis.observe('warning')).toBe(false);
    expect(hysteresis.current).toBe('normal');
    expect(hysteresis.observe('warning')).toBe(true);
    expect(hysteresis.current).toBe('warning');
  });
});

describe('PressureMonitor', () => {
  it('reports zeros and normal before the first sample, then real numbers', async () => {
    const { pressure } = monitor([used(0.5)], new Targets([]));
    expect(pressure.state()).toMatchObject({ level: 'normal', score: 0, canCreate: true });
    await pressure.tick();
    const state = pressure.state();
    expect(state.score).toBeCloseTo(0.5);
    expect(state.sample.total).toBe(10 * GiB);
    expect(state.nextThreshold).toBeCloseTo(0.7);
  });

  it('throttles with a soft limit at high, refuses creates at critical, pauses idle sandboxes, and lifts it all', async () => {
    const start = Date.parse('2026-05-01T12:00:00Z');
    const targets = new Targets([
      { id: 'busy', lastUse: new Date(start) },
      { id: 'idle-a', lastUse: new Date(start - 10 * 60_000) },
      { id: 'idle-b', lastUse: new Date(start - 5 * 60_000) },
    ]);
    const { pressure, push } = monitor([used(0.85), used(0.85)], targets);
    await pressure.tick();
    expect(pressure.level).toBe('normal');
    expect(targets.soft.size).toBe(0);
    await pressure.tick();
    expect(pressure.level).toBe('high');
    expect(pressure.memoryShort()).toBe(true);
    // L = 0.8 × 1.5 GiB available / 3 running.
    const limit = Math.floor((0.8 * 1.5 * GiB) / 3);
    expect([...targets.soft.values()]).toEqual([limit, limit, limit]);
    expect(pressure.state()).toMatchObject({ softLimit: limit, throttled: 3 });
    expect(pressure.state().actions.map((action) => action.action)).toEqual([
      'warm_pool_release',
      'throttle',
    ]);
    expect(pressure.state().top.map((entry) => entry.id)).toEqual(['idle-a', 'idle-b', 'busy']);
    expect(() => pressure.checkCanCreate()).not.toThrow();

    push(used(0.5, { someAvg10: 60, fullAvg10: 20 }), used(0.5, { someAvg10: 60, fullAvg10: 20 }));
    await pressure.tick();
    await pressure.tick();
    expect(pressure.level).toBe('critical');
    expect(pressure.state().reason).toMatch(/stalls some 60\.0% full 20\.0%/);
    let refused: unknown;
    try {
      pressure.checkCanCreate();
    } catch (error) {
      refused = error;
    }
    expect(isBurrowError(refused, 'MEMORY_PRESSURE')).toBe(true);
    expect((refused as Error).message).toBe('host under critical memory pressure');
    expect(targets.paused).toEqual(['idle-a', 'idle-b']);
    expect(pressure.state().actions.at(-1)).toMatchObject({
      action: 'pause',
      sandboxes: ['idle-a', 'idle-b'],
    });

    push(used(0.3), used(0.3));
    await pressure.tick();
    expect(pressure.level).toBe('critical');
    await pressure.tick();
    expect(pressure.level).toBe('normal');
    expect(targets.soft.size).toBe(0);
    expect(pressure.state()).toMatchObject({ softLimit: 0, throttled: 0, canCreate: true });
    expect(pressure.state().actions.at(-1)).toMatchObject({
      action: 'unthrottle',
      sandboxes: ['busy', 'idle-a', 'idle-b'],
    });
    // Paused sandboxes stay paused until used.
    expect(targets.paused).toEqual(['idle-a', 'idle-b']);
    expect(pressure.memoryShort()).toBe(false);
  });

  it('raises the soft limit to min_memory_floor and throttles sandboxes that start later', async () => {
    const targets = new Targets(
      Array.from({ length: 400 }, (_v, index) => ({ id: `s${index}`, lastUse: new Date() })),
    );
    const { pressure, push } = monitor([used(0.99), used(0.99)], targets);
    await pressure.tick();
    await pressure.tick();
    expect(pressure.level).toBe('emergency');
    expect(pressure.state().softLimit).toBe(32 * MiB);
    targets.sandboxes.push({ id: 'late', lastUse: new Date() });
    push(used(0.99));
    await pressure.tick();
    expect(targets.soft.get('late')).toBe(32 * MiB);
  });

  it('only reports and refuses when auto-throttle is off', async () => {
    const targets = new Targets([{ id: 'old', lastUse: new Date(0) }]);
    const { pressure } = monitor([used(0.92), used(0.92)], targets, { autoThrottle: false });
    await pressure.tick();
    await pressure.tick();
    expect(pressure.level).toBe('critical');
    expect(pressure.state().canCreate).toBe(false);
    expect(targets.soft.size).toBe(0);
    expect(targets.paused).toEqual([]);
  });

  it('skips a failed sample and keeps the level', async () => {
    const targets = new Targets([]);
    const pressure = new PressureMonitor({
      source: { sample: () => Promise.reject(new Error('no /proc')) },
      targets,
      scoreThresholds: thresholds,
      stallThresholds: { warning: 10, high: 30, critical: 10 },
      intervalMs: 5000,
      autoThrottle: true,
      minMemoryFloor: 32 * MiB,
      pauseIdleAfterMs: 0,
      clock: { now: () => new Date() },
      logger: silentLogger,
    });
    await pressure.tick();
    expect(pressure.level).toBe('normal');
  });
});

describe('ProcHostMemory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'burrow-proc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads MemTotal, MemAvailable and the stall averages', async () => {
    writeFileSync(
      join(dir, 'meminfo'),
      'MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n',
    );
    writeFileSync(
      join(dir, 'pressure'),
      'some avg10=12.50 avg60=3.00 avg300=1.00 total=123\nfull avg10=4.25 avg60=1.00 avg300=0.50 total=45\n',
    );
    const sample = await new ProcHostMemory({
      meminfo: join(dir, 'meminfo'),
      pressure: join(dir, 'pressure'),
    }).sample();
    expect(sample).toEqual({
      total: 1000 * 1024,
      available: 400 * 1024,
      stall: { someAvg10: 12.5, fullAvg10: 4.25 },
    });
    const noPsi = await new ProcHostMemory({
      meminfo: join(dir, 'meminfo'),
      pressure: join(dir, 'missing'),
    }).sample();
    expect(noPsi.stall).toBeUndefined();
  });

  it('reads this host', async () => {
    const sample = await new ProcHostMemory().sample();
    expect(sample.total).toBeGreaterThan(0);
    expect(sample.available).toBeGreaterThan(0);
    expect(sample.available).toBeLessThanOrEqual(sample.total);
  });
});
