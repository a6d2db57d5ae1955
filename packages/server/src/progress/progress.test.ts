import { describe, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import { logProgress, type Timers } from './progress.js';

function fakes() {
  const lines: { level: string; fields: object; message: string | undefined }[] = [];
  const logger: Logger = {
    debug: (fields, message) => lines.push({ level: 'debug', fields, message }),
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
    child: () => logger,
  };
  let now = 0;
  const ticks: (() => void)[] = [];
  const timers: Timers = {
    now: () => now,
    every: (_ms, tick) => {
      ticks.push(tick);
      return { stop: () => ticks.splice(ticks.indexOf(tick), 1) };
    },
  };
  const advance = (ms: number) => {
    now += ms;
    for (const tick of [...ticks]) tick();
  };
  return { lines, logger, timers, advance, ticking: () => ticks.length };
}

describe('progress as log lines', () => {
  it('logs the title, then the latest state once per interval whatever the number of updates, then the outcome', () => {
    const { lines, logger, timers, advance, ticking } = fakes();
    const progress = logProgress(logger, { intervalMs: 15_000, timers })('building x', { image: 'x' });
    for (let index = 0; index < 500; index++) progress.update(`step ${index}`, { step: index });
    advance(15_000);
    progress.update('step 501', { step: 501 });
    advance(15_000);
    progress.end(true, 'built x in 30s');
    expect(lines).toEqual([
      { level: 'info', fields: { image: 'x' }, message: 'building x' },
      {
        level: 'info',
        fields: { image: 'x', step: 499, elapsed_s: 15 },
        message: 'building x: step 499 (15s)',
      },
      {
        level: 'info',
        fields: { image: 'x', step: 501, elapsed_s: 30 },
        message: 'building x: step 501 (30s)',
      },
      { level: 'info', fields: { image: 'x', elapsed_s: 30 }, message: 'built x in 30s' },
    ]);
    expect(ticking()).toBe(0);
  });

  it('keeps quick work out of the info log when asked to start quietly, and reports a failure as a warning', () => {
    const { lines, logger, timers } = fakes();
    const quick = logProgress(logger, { timers, quietStart: true })('snapshot of sb-1');
    quick.update('10 MiB');
    quick.end(true, 'snapshot of sb-1 done');
    const failing = logProgress(logger, { timers })('building y');
    failing.end(false, 'building y failed');
    failing.end(true, 'ignored: already ended');
    expect(lines.map((line) => [line.level, line.message])).toEqual([
      ['debug', 'snapshot of sb-1 done'],
      ['info', 'building y'],
      ['warn', 'building y failed'],
    ]);
  });
});
