/**
 * Progress of long work (image builds and pulls, large snapshots and restores). The work says what it is doing as
 * often as it likes; a display decides how much of that to show: a live line on a terminal (the CLI's), or a plain
 * log line at a fixed interval here, so that a CI log or a journal gets a steady trickle, never a flood.
 */
import type { Logger } from '../logger.js';
import { formatElapsed } from '../util/format.js';

export type ProgressFields = Record<string, unknown>;

export interface Progress {
  /** The current state: a short text for people and fields for structured logs. Cheap; call it freely. */
  update(text: string, fields?: ProgressFields): void;
  /** The work is over (`ok` or failed); ends the display with a last line. */
  end(ok: boolean, text: string, fields?: ProgressFields): void;
}

/** Starts the display of one piece of work, e.g. `progress('building burrow/default:latest', { image })`. */
export type ProgressFactory = (title: string, fields?: ProgressFields) => Progress;

export interface Timers {
  now(): number;
  every(ms: number, tick: () => void): { stop(): void };
}

export const realTimers: Timers = {
  now: () => Date.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  },
};

export interface LogProgressOptions {
  /** One line per this many ms at most (default 15 s). */
  intervalMs?: number;
  /** Say nothing at the start; the first line comes after one interval (for work that is usually quick). */
  quietStart?: boolean;
  timers?: Timers;
}

/**
 * Progress as log lines: the title when the work starts, then the latest state once per interval (with the time
 * elapsed), then the outcome. Work that ends within the first interval with `quietStart` logs only its outcome
 * at debug level, so small snapshots do not fill the log.
 */
export function logProgress(logger: Logger, options: LogProgressOptions = {}): ProgressFactory {
  const intervalMs = options.intervalMs ?? 15_000;
  const timers = options.timers ?? realTimers;
  return (title, startFields = {}) => {
    const started = timers.now();
    let text = '';
    let fields: ProgressFields = {};
    let lines = 0;
    const elapsed = () => ({ elapsed_s: Math.round((timers.now() - started) / 1000) });
    if (options.quietStart !== true) {
      logger.info(startFields, title);
      lines++;
    }
    const ticker = timers.every(intervalMs, () => {
      const since = formatElapsed(timers.now() - started);
      logger.info(
        { ...startFields, ...fields, ...elapsed() },
        text === '' ? `${title} (${since})` : `${title}: ${text} (${since})`,
      );
      lines++;
    });
    let ended = false;
    return {
      update(nextText, nextFields = {}) {
        text = nextText;
        fields = nextFields;
      },
      end(ok, endText, endFields = {}) {
        if (ended) return;
        ended = true;
        ticker.stop();
        const all = { ...startFields, ...endFields, ...elapsed() };
        if (!ok) logger.warn(all, endText);
        else if (lines === 0) logger.debug(all, endText);
        else logger.info(all, endText);
      },
    };
  };
}

/** Shows nothing (for callers that did not ask for progress). */
export const noProgress: ProgressFactory = () => ({ update: () => undefined, end: () => undefined });
