import { describe, expect, it } from 'vitest';
import { Poller, type Timer } from './poll.js';

/** A timer that runs nothing by itself: the test fires the pending callback. */
function manualTimer() {
  let pending: { callback: () => void; ms: number } | undefined;
  const timer: Timer = {
    set: (callback, ms) => (pending = { callback, ms }),
    clear: () => (pending = undefined),
  };
  return {
    timer,
    next: () => pending?.ms,
    fire: async () => {
      const current = pending;
      pending = undefined;
      current?.callback();
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

describe('poller', () => {
  it('polls at the interval, backs off while failing, honours Retry-After and recovers', async () => {
    const clock = manualTimer();
    const outcomes: (Error | undefined)[] = [
      new Error('down'),
      new Error('down'),
      Object.assign(new Error('slow down'), { retryAfterSeconds: 20 }),
      undefined,
    ];
    const errors: unknown[] = [];
    let runs = 0;
    const poller = new Poller(
      async () => {
        runs += 1;
        const outcome = outcomes.shift();
        if (outcome !== undefined) throw outcome;
      },
      { intervalMs: 1000, maxMs: 8000, timer: clock.timer, onError: (error) => errors.push(error) },
    );
    poller.start();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(clock.next()).toBe(2000);
    await clock.fire();
    expect(clock.next()).toBe(4000);
    await clock.fire();
    expect(clock.next()).toBe(20_000);
    await clock.fire();
    expect(clock.next()).toBe(1000);
    expect(runs).toBe(4);
    expect(errors).toHaveLength(3);
    poller.stop();
    expect(clock.next()).toBeUndefined();
  });
});
