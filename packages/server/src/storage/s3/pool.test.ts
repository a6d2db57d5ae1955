import { describe, expect, it } from 'vitest';
import { forEachConcurrent } from './pool.js';

async function* numbers(count: number, failAt?: number): AsyncGenerator<number> {
  for (let i = 0; i < count; i += 1) {
    if (i === failAt) throw new Error(`source failed at ${i}`);
    yield i;
  }
}

describe('forEachConcurrent', () => {
  it('runs every item with at most `limit` in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachConcurrent(numbers(50), 8, async (n) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push(n);
      inFlight -= 1;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
    expect(peak).toBe(8);
  });

  it('rethrows a source failure after in-flight tasks settle', async () => {
    const done: number[] = [];
    await expect(
      forEachConcurrent(numbers(20, 10), 3, async (n) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        done.push(n);
      }),
    ).rejects.toThrow('source failed at 10');
    expect(done.length).toBeGreaterThanOrEqual(10);
  });

  it('stops taking items once the signal aborts', async () => {
    const controller = new AbortController();
    const done: number[] = [];
    await forEachConcurrent(
      numbers(100),
      2,
      async (n) => {
        done.push(n);
        if (n === 5) controller.abort();
        await Promise.resolve();
      },
      controller.signal,
    );
    expect(done.length).toBeLessThan(10);
  });
});
