import { PassThrough } from 'node:stream';
import { expect, it } from 'vitest';
import { formatElapsed, progressLine, terminalProgress } from './terminal-progress.js';

it('shows title, state and elapsed time on one line that never wraps', () => {
  expect(formatElapsed(9_400)).toBe('9s');
  expect(formatElapsed(83_000)).toBe('1m23s');
  expect(formatElapsed(3_720_000)).toBe('1h02m');
  expect(progressLine('building x', 'step 2/6 RUN apt-get', 61_000, 80)).toBe(
    'building x: step 2/6 RUN apt-get (1m01s)',
  );
  const long = progressLine('building x', 'a'.repeat(200), 1000, 60);
  expect(long).toHaveLength(57);
  expect(long.endsWith('…')).toBe(true);
});

it('is not used when the stream is not a terminal (the server logs lines at an interval instead)', () => {
  expect(terminalProgress({ stream: new PassThrough() as unknown as NodeJS.WriteStream })).toBeUndefined();
});
