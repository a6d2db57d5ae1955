/**
 * Progress of long work on a terminal: one live line with a spinner (ora), the current step and the time elapsed,
 * ending in a ✔/✖ line. ora is the spinner most Node CLIs use, kept up to date, and it handles what a hand-made one
 * gets wrong (cursor hiding and restoring on exit, redrawing lines that wrap, Unicode fallbacks). It is used only
 * when the stream is an interactive terminal (not in CI, not TERM=dumb); otherwise the server logs plain lines at
 * an interval.
 */
import ora, { type Ora } from 'ora';
import type { Progress, ProgressFactory } from '@burrow/server';

/** `9s`, `1m23s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `title: text (1m23s)`, cut to the terminal's width so that the line never wraps. */
export function progressLine(title: string, text: string, elapsedMs: number, columns: number): string {
  const line = `${text === '' ? title : `${title}: ${text}`} (${formatElapsed(elapsedMs)})`;
  const room = Math.max(20, columns - 3);
  return line.length <= room ? line : `${line.slice(0, room - 1)}…`;
}

export interface TerminalProgressOptions {
  stream?: NodeJS.WriteStream;
  now?: () => number;
}

/** A progress display for an interactive terminal, or undefined when `stream` is not one. */
export function terminalProgress(options: TerminalProgressOptions = {}): ProgressFactory | undefined {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  if (!ora({ stream }).isEnabled) return undefined;
  return (title): Progress => {
    const started = now();
    let text = '';
    const spinner: Ora = ora({ stream, discardStdin: false, text: title }).start();
    const render = () => {
      spinner.text = progressLine(title, text, now() - started, stream.columns ?? 80);
    };
    // The elapsed time moves on even while a step is quiet.
    const clock = setInterval(render, 1000);
    clock.unref();
    let ended = false;
    return {
      update(next) {
        text = next;
        render();
      },
      end(ok, last) {
        if (ended) return;
        ended = true;
        clearInterval(clock);
        if (ok) spinner.succeed(last);
        else spinner.fail(last);
      },
    };
  };
}
