/** Summaries of timing samples: median, p95 (nearest rank, only where n is large enough), min, max, mean. */

/**
 * Fewest samples for a p95: with fewer, the nearest-rank p95 is the maximum (n < 20) or rests on one or two samples,
 * so it says nothing the max does not.
 */
export const MIN_SAMPLES_FOR_P95 = 20;

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function summarise(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    median: percentile(sorted, 50),
    p95: sorted.length >= MIN_SAMPLES_FOR_P95 ? percentile(sorted, 95) : NaN,
    min: sorted[0] ?? NaN,
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
  };
}

/** Milliseconds since `start` (a performance.now() value). */
export function since(start) {
  return performance.now() - start;
}
