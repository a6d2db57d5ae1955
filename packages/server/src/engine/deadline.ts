/**
 * Waiting on work with a deadline, without pretending to cancel it. A runtime call that does not answer (a stuck
 * container, an engine that hangs, a sandbox that stalls its agent) keeps running in the background; whoever waited
 * moves on, and the work's late failure is caught instead of becoming an unhandled rejection.
 */

export type DeadlineOutcome<T> = { done: true; value: T } | { done: false };

export async function withinDeadline<T>(work: Promise<T>, ms: number): Promise<DeadlineOutcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<DeadlineOutcome<T>>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), ms);
  });
  // Nobody may be listening when the work fails after the deadline.
  work.catch(() => undefined);
  try {
    return await Promise.race([work.then((value) => ({ done: true as const, value })), expired]);
  } finally {
    clearTimeout(timer);
  }
}
