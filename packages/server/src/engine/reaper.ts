/**
 * Destroys sandboxes whose lifetime has passed, then applies the idle action, every `intervalMs`. A sweep starts only after the previous one
 * ended, so sweeps never overlap however long one takes; a stuck sandbox cannot hold a sweep either (the engine
 * waits for each destroy only up to its deadline).
 */
import type { Logger } from '../logger.js';
import type { Engine } from './engine.js';

export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly engine: Pick<Engine, 'reapExpired' | 'applyIdlePolicy'>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.sweeping = this.engine
        .reapExpired()
        .then(() => this.engine.applyIdlePolicy())
        .catch((error: unknown) => this.logger.error({ err: error }, 'reaper sweep failed'))
        .finally(() => {
          if (this.running) this.schedule();
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}
