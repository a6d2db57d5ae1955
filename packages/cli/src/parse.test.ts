import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  collectKeyValue,
  formatBytes,
  formatDuration,
  formatTable,
  parseCopyEndpoint,
  parseCpus,
  parseDurationSeconds,
  parseSize,
} from './parse.js';

describe('parse', () => {
  it('collects repeated KEY=VALUE options', () => {
    expect(collectKeyValue('B=2=3', collectKeyValue('A=1'))).toEqual({ A: '1', B: '2=3' });
    expect(collectKeyValue('EMPTY=')).toEqual({ EMPTY: '' });
    expect(() => collectKeyValue('novalue')).toThrow(InvalidArgumentError);
    expect(() => collectKeyValue('=x')).toThrow(InvalidArgumentError);
  });

  it('reads durations as seconds', () => {
    expect(parseDurationSeconds('90')).toBe(90);
    expect(parseDurationSeconds('30m')).toBe(1800);
    expect(parseDurationSeconds('1h30m')).toBe(5400);
    expect(parseDurationSeconds('1.5s')).toBe(2);
    expect(parseDurationSeconds('2d')).toBe(172_800);
    expect(() => parseDurationSeconds('soon')).toThrow(InvalidArgumentError);
    expect(() => parseDurationSeconds('5x')).toThrow(InvalidArgumentError);
  });

  it('reads sizes', () => {
    expect(parseSize('1048576')).toBe(1048576);
    expect(parseSize('512m')).toBe(512 * 1024 ** 2);
    expect(parseSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('256MB')).toBe(256 * 1024 ** 2);
    expect(() => parseSize('big')).toThrow(InvalidArgumentError);
  });

  it('reads CPU counts, including Den nano-CPUs', () => {
    expect(parseCpus('0.5')).toBe(0.5);
    expect(parseCpus('2000000000')).toBe(2);
    expect(() => parseCpus('0')).toThrow(InvalidArgumentError);
    expect(() => parseCpus('x')).toThrow(InvalidArgumentError);
  });

  it('tells sandbox paths from local ones', () => {
    expect(parseCopyEndpoint('abc123:/tmp/x')).toEqual({
      kind: 'remote',
      sandboxId: 'abc123',
      path: '/tmp/x',
    });
    expect(parseCopyEndpoint('./dir')).toEqual({ kind: 'local', path: './dir' });
    expect(parseCopyEndpoint('/abs/a:b')).toEqual({ kind: 'local', path: '/abs/a:b' });
    expect(parseCopyEndpoint('./a:b')).toEqual({ kind: 'local', path: './a:b' });
    expect(parseCopyEndpoint('file.txt')).toEqual({ kind: 'local', path: 'file.txt' });
    expect(() => parseCopyEndpoint('abc:relative')).toThrow(/must be absolute/);
  });

  it('formats bytes, durations and tables', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.0 GiB');
    expect(formatDuration(45_000)).toBe('45s');
    expect(formatDuration(5 * 60_000)).toBe('5m');
    expect(formatDuration(3 * 3_600_000 + 12 * 60_000)).toBe('3h12m');
    expect(formatDuration(50 * 3_600_000)).toBe('2d2h');
    expect(
      formatTable(
        ['ID', 'STATUS'],
        [
          ['a', 'running'],
          ['long-id', 'x'],
        ],
      ),
    ).toBe('ID       STATUS\na        running\nlong-id  x\n');
  });
});
