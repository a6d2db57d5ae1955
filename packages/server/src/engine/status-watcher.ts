/**
 * Keeps each sandbox's recorded status true to the runtime: follows the runtime's events, and after the event
 * stream breaks (engine restart) reconnects and re-reads every sandbox's state so nothing is missed.
 */
import type { Logger } from '../logger.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Engine } from './engine.js';

export class StatusWatcher {
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly runtime: Runtime,
    private readonly logger: Logger,
    private readonly retryMs = 1000,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    const signal = this.controller.signal;
    let broken = false;
    while (!signal.aborted) {
      try {
        const events = this.runtime.events(signal);
        if (broken) await this.resync();
        // An event only says that something happened to a sandbox; the engine reads what its state is now.
        for await (const event of events) await this.engine.refresh(event.id);
      } catch (error) {
        if (signal.aborted) return;
        this.logger.warn({ err: error }, 'lost the runtime event stream; reconnecting');
      }
      if (signal.aborted) return;
      broken = true;
      // Stopping ends the wait at once rather than after a retry interval.
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, this.retryMs);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** Re-reads the state of every recorded sandbox. */
  private async resync(): Promise<void> {
    const infos = new Map((await this.runtime.list()).map((info) => [info.id, info]));
    for (const record of this.engine.list()) {
      const info = infos.get(record.id);
      if (info === undefined) this.engine.observeRemoval(record.id);
      else if (info.status === 'running') {
        this.engine.observeStart(record.id);
        this.engine.observePause(record.id, false);
      } else if (info.status === 'paused') this.engine.observePause(record.id, true);
      else this.engine.observeExit(record.id, info.exitCode ?? 0, info.oomKilled === true);
    }
  }
}
