import { describe, expect, it } from 'vitest';
import { CwdMarkerFilter, MARK } from './shell-marker.js';

describe('CwdMarkerFilter', () => {
  it('passes stderr through and learns the directory from the trailing marker', () => {
    const filter = new CwdMarkerFilter();
    expect(filter.feed('warning\n')).toBe('warning\n');
    expect(filter.feed(`oops${MARK}/ho`)).toBe('oops');
    expect(filter.feed(`me/sandbox${MARK}`)).toBe('');
    expect(filter.finish()).toEqual({ cwd: '/home/sandbox', rest: '' });
  });

  it('gives back held text when no whole marker arrived (the command exited early)', () => {
    const filter = new CwdMarkerFilter();
    expect(filter.feed(`a${MARK}b`)).toBe('a');
    expect(filter.finish()).toEqual({ cwd: undefined, rest: `${MARK}b` });
    expect(new CwdMarkerFilter().finish()).toEqual({ cwd: undefined, rest: '' });
  });
});
