/** Destroys sandboxes whose lifetime has passed, every `intervalMs`. */
import type { Logger } from '../logger.js';
import type { Engine } from './engine.js';

export class Reaper {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly engine: Engine,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.sweeping = this.engine
        .reapExpired()
        .catch((error: unknown) => this.logger.error({ err: error }, 'reaper sweep failed'));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}
