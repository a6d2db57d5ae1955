import { describe, expect, it } from 'vitest';
import { directoryPrefix, objectKey, relativePathForKey } from './keys.js';

describe('objectKey', () => {
  it.each([
    ['data/', 'a/b.txt', 'data/a/b.txt'],
    ['data', 'a.txt', 'data/a.txt'],
    ['', 'a.txt', 'a.txt'],
    ['data//', 'a.txt', 'data/a.txt'],
    ['data', '/a.txt', 'data/a.txt'],
    ['a/b', 'c/d', 'a/b/c/d'],
  ])('%j + %j = %j', (prefix, relative, key) => {
    expect(objectKey(prefix, relative)).toBe(key);
  });

  it('reads prefixes as directories', () => {
    expect(directoryPrefix('')).toBe('');
    expect(directoryPrefix('data')).toBe('data/');
    expect(directoryPrefix('data/')).toBe('data/');
  });
});

describe('relativePathForKey', () => {
  it.each([
    ['data', 'data/a/b.txt', { kind: 'file', relative: 'a/b.txt' }],
    ['data/', 'data/a.txt', { kind: 'file', relative: 'a.txt' }],
    ['', 'a.txt', { kind: 'file', relative: 'a.txt' }],
    ['data', 'data/a//b/./c.txt', { kind: 'file', relative: 'a/b/c.txt' }],
    ['data', 'data/', { kind: 'directory', relative: '' }],
    ['data', 'data/sub/', { kind: 'directory', relative: 'sub' }],
  ])('%j: %j', (prefix, key, target) => {
    expect(relativePathForKey(prefix, key)).toEqual(target);
  });

  it.each([
    ['data', 'data/../escape.txt', /"\.\."/],
    ['data', 'data/a/../../escape.txt', /"\.\."/],
    ['', '../escape.txt', /"\.\."/],
    ['data', 'data//etc/passwd', /absolute/],
    ['', '/etc/passwd', /absolute/],
    ['data', 'database/x', /not under the prefix/],
    ['', 'a\0b', /NUL/],
  ])('%j: %j is skipped', (prefix, key, reason) => {
    const target = relativePathForKey(prefix, key);
    expect(target.kind).toBe('skip');
    expect(target.kind === 'skip' ? target.reason : '').toMatch(reason);
  });
});
