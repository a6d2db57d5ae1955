/**
 * Runs `task` for each item of an async source with at most `limit` tasks in flight. Stops taking new items once
 * `signal` aborts. Tasks are expected to record their own failures; a failure of the source itself (e.g. a listing
 * error) or a task that throws stops the run and is rethrown after the in-flight tasks settle.
 */
export async function forEachConcurrent<T>(
  source: AsyncIterable<T>,
  limit: number,
  task: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  let firstError: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!finished && signal?.aborted !== true) {
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (error) {
        firstError ??= { error };
        finished = true;
        return;
      }
      if (next.done === true) {
        finished = true;
        return;
      }
      try {
        await task(next.value);
      } catch (error) {
        firstError ??= { error };
        finished = true;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (!finished) await iterator.return?.();
  if (firstError !== undefined) throw firstError.error;
}
