/**
 * Live updates without a manual refresh: run a task every `intervalMs`, back off (doubling, up to `maxMs`) while it
 * fails, honour a rate limit's Retry-After, and pause while the tab is hidden. The timer is injected so tests need
 * no sleeping.
 */
export interface Timer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimer: Timer = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface PollOptions {
  intervalMs: number;
  maxMs?: number;
  timer?: Timer;
  /** Called with every failure (after which the next try is later). */
  onError?: (error: unknown) => void;
}

/** Seconds to wait that a failure asks for (a RateLimitError's `retryAfterSeconds`), if any. */
function retryAfterMs(error: unknown): number | undefined {
  const seconds = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  return typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : undefined;
}

export class Poller {
  readonly #task: () => Promise<void>;
  readonly #intervalMs: number;
  readonly #maxMs: number;
  readonly #timer: Timer;
  readonly #onError: ((error: unknown) => void) | undefined;
  #handle: unknown;
  #delayMs: number;
  #running = false;
  #stopped = true;

  constructor(task: () => Promise<void>, options: PollOptions) {
    this.#task = task;
    this.#intervalMs = options.intervalMs;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#timer = options.timer ?? realTimer;
    this.#onError = options.onError;
    this.#delayMs = options.intervalMs;
  }

  /** The wait before the next run. */
  get delayMs(): number {
    return this.#delayMs;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.runNow();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#handle !== undefined) this.#timer.clear(this.#handle);
    this.#handle = undefined;
  }

  /** Runs the task at once (e.g. after the user changed something) and reschedules. */
  async runNow(): Promise<void> {
    if (this.#stopped || this.#running) return;
    if (this.#handle !== undefined) this.#timer.clear(this.#handle);
    this.#handle = undefined;
    this.#running = true;
    try {
      await this.#task();
      this.#delayMs = this.#intervalMs;
    } catch (error) {
      this.#delayMs = Math.max(retryAfterMs(error) ?? 0, Math.min(this.#delayMs * 2, this.#maxMs));
      this.#onError?.(error);
    } finally {
      this.#running = false;
    }
    if (!this.#stopped) this.#handle = this.#timer.set(() => void this.runNow(), this.#delayMs);
  }
}
