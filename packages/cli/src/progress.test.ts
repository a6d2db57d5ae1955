import { describe, expect, it } from 'vitest';
import { createProgressBar, renderProgress } from './progress.js';

function fakeTerminal(isTTY: boolean) {
  const writes: string[] = [];
  const stream = {
    isTTY,
    columns: 100,
    write: (text: string) => writes.push(text),
  } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe('progress bar', () => {
  it('renders fraction, sizes and rate', () => {
    const text = renderProgress(
      { label: 'data.bin', transferred: 5 * 1024 ** 2, total: 10 * 1024 ** 2, elapsedMs: 2000 },
      10,
    );
    expect(text).toBe('data.bin  [#####-----]  50%  5.0 MiB/10.0 MiB  2.5 MiB/s');
    expect(renderProgress({ label: 'x', transferred: 0, total: 0, elapsedMs: 0 }, 4)).toBe(
      'x  [----]   0%  0 B/0 B',
    );
    expect(renderProgress({ label: 'x', transferred: 20, total: 10, elapsedMs: 0 }, 4)).toContain(
      '[####] 100%',
    );
  });

  it('draws on a terminal for large transfers, throttled, and ends the line', () => {
    const { stream, writes } = fakeTerminal(true);
    let now = 0;
    const bar = createProgressBar({ label: 'f', total: 4 * 1024 ** 2, stream, now: () => now });
    now = 200;
    bar.add(1024 ** 2);
    bar.add(1024 ** 2); // within the interval: not drawn
    now = 400;
    bar.add(1024 ** 2);
    bar.finish();
    expect(writes.filter((text) => text.startsWith('\r'))).toHaveLength(3);
    expect(writes.at(-2)).toContain('75%');
    expect(writes.at(-1)).toBe('\n');
  });

  it('stays silent for small transfers and when stderr is not a terminal', () => {
    const small = fakeTerminal(true);
    createProgressBar({ label: 'f', total: 1024, stream: small.stream }).finish();
    const piped = fakeTerminal(false);
    const bar = createProgressBar({ label: 'f', total: 100 * 1024 ** 2, stream: piped.stream });
    bar.add(100);
    bar.finish();
    expect([...small.writes, ...piped.writes]).toEqual([]);
  });
});
