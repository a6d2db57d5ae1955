/** The signal names a client may send (exec stream, attach stream, POST .../signal), in one accepting form. */
import { BurrowError } from '@burrow/protocol';

export const SIGNALS: ReadonlySet<string> = new Set([
  'SIGHUP',
  'SIGINT',
  'SIGQUIT',
  'SIGKILL',
  'SIGUSR1',
  'SIGUSR2',
  'SIGPIPE',
  'SIGALRM',
  'SIGTERM',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGWINCH',
]);

/** `INT`, `sigint`, ` SIGINT ` → `SIGINT`; undefined for a name not in {@link SIGNALS}. */
export function signalName(input: string): string | undefined {
  const upper = input.trim().toUpperCase();
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return SIGNALS.has(name) ? name : undefined;
}

/** As {@link signalName}, or a 400 naming the signals that work. */
export function requireSignal(input: string): string {
  const name = signalName(input);
  if (name === undefined) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `unknown signal ${JSON.stringify(input.slice(0, 32))}: use one of ${[...SIGNALS].join(', ')}`,
      { field: 'signal' },
    );
  }
  return name;
}
