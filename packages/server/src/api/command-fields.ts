/** Request fields shared by exec and background processes: the argv and the terminal size. */
import { BurrowError } from '@burrow/protocol';
import { MAX_PTY_CELLS } from '../runtime/process-options.js';
import type { PtySize } from '../runtime/runtime.js';

/** `cmd` is checked by hand so that a missing one gets Den's message (`cmd is required`). */
export function checkCmd(cmd: unknown): string[] {
  if (cmd === undefined || cmd === null || (Array.isArray(cmd) && cmd.length === 0)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      'cmd is required: give the command as an argv array, e.g. ["ls", "-la"]',
      { field: 'cmd' },
    );
  }
  if (typeof cmd === 'string') {
    throw new BurrowError(
      'VALIDATION_FAILED',
      'cmd must be an argv array, not a shell string: use ["sh", "-c", "<command>"]',
      { field: 'cmd' },
    );
  }
  if (!Array.isArray(cmd) || !cmd.every((arg): arg is string => typeof arg === 'string')) {
    throw new BurrowError('VALIDATION_FAILED', 'cmd must be an array of strings', { field: 'cmd' });
  }
  return cmd;
}

/**
 * A terminal size from a request (`field` names it in the message: `pty` gives `pty.cols`, empty gives `cols`),
 * or a 400 that says the range.
 */
export function ptyFromWire(size: { cols: number; rows: number }, field = 'pty'): PtySize {
  for (const key of ['cols', 'rows'] as const) {
    const value = size[key];
    if (!Number.isInteger(value) || value < 1 || value > MAX_PTY_CELLS) {
      const name = field === '' ? key : `${field}.${key}`;
      throw new BurrowError(
        'VALIDATION_FAILED',
        `${name} must be a whole number from 1 to ${MAX_PTY_CELLS}, got ${String(value)}`,
        { field: name },
      );
    }
  }
  return { cols: size.cols, rows: size.rows };
}
