/** A one-line progress bar for transfers, drawn on stderr when it is a terminal. */
import { formatBytes } from './parse.js';

export interface ProgressState {
  label: string;
  transferred: number;
  total: number;
  elapsedMs: number;
}

/** The bar's text, e.g. `src.tar  [#######-------------]  35%  3.5 MiB/10.0 MiB  1.2 MiB/s`. */
export function renderProgress(state: ProgressState, barWidth = 24): string {
  const fraction = state.total > 0 ? Math.min(1, state.transferred / state.total) : 0;
  const filled = Math.round(fraction * barWidth);
  const bar = '#'.repeat(filled) + '-'.repeat(barWidth - filled);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const rate =
    state.elapsedMs > 0 ? `${formatBytes(Math.round((state.transferred / state.elapsedMs) * 1000))}/s` : '';
  return `${state.label}  [${bar}] ${percent}  ${formatBytes(state.transferred)}/${formatBytes(state.total)}  ${rate}`.trimEnd();
}

export interface ProgressBar {
  /** Adds bytes to the count. */
  add(bytes: number): void;
  /** Draws the final state and ends the line. */
  finish(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  stream?: NodeJS.WriteStream;
  /** Redraw at most this often. */
  intervalMs?: number;
  now?: () => number;
}

const NO_PROGRESS: ProgressBar = { add: () => undefined, finish: () => undefined };

/** Transfers at least this large get a bar. */
export const PROGRESS_THRESHOLD_BYTES = 1024 * 1024;

/** A bar when the transfer is large and the stream a terminal; otherwise a no-op. */
export function createProgressBar(options: ProgressOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  if (options.total <= PROGRESS_THRESHOLD_BYTES || stream.isTTY !== true) return NO_PROGRESS;
  const now = options.now ?? Date.now;
  const start = now();
  const interval = options.intervalMs ?? 100;
  let transferred = 0;
  let drawnAt = 0;
  const draw = () => {
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 60));
    const text = renderProgress(
      { label: options.label, transferred, total: options.total, elapsedMs: now() - start },
      width,
    );
    stream.write(`\r\x1b[2K${text}`);
  };
  return {
    add(bytes) {
      transferred += bytes;
      if (now() - drawnAt >= interval) {
        drawnAt = now();
        draw();
      }
    },
    finish() {
      draw();
      stream.write('\n');
    },
  };
}
