/** Idle streams carry keepalive events, so proxies and clients do not take a quiet process for a dead one. */

export const KEEPALIVE: unique symbol = Symbol('keepalive');

/**
 * Yields what `source` yields, and `KEEPALIVE` whenever `intervalMs` pass without an item. Ends when the source
 * ends or `signal` aborts (then the source's iterator is returned, which releases it).
 */
export async function* withKeepalive<T>(
  source: AsyncIterable<T>,
  intervalMs: number,
  signal: AbortSignal,
): AsyncGenerator<T | typeof KEEPALIVE> {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    else signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  try {
    for (;;) {
      // Checked first: items already waiting would otherwise win the race below forever.
      if (signal.aborted) return;
      pending ??= iterator.next();
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<'tick'>((resolve) => {
        timer = setTimeout(() => resolve('tick'), intervalMs);
      });
      const outcome = await Promise.race([pending, tick, aborted]).finally(() => clearTimeout(timer));
      if (outcome === 'aborted') return;
      if (outcome === 'tick') {
        yield KEEPALIVE;
        continue;
      }
      pending = undefined;
      if (outcome.done === true) return;
      yield outcome.value;
    }
  } finally {
    // Not awaited: with a next() still pending, a generator's return() would wait for it. The caller closes the
    // source itself (an attachment's close()), which settles that next().
    pending?.catch(() => undefined);
    void iterator.return?.()?.catch(() => undefined);
  }
}
