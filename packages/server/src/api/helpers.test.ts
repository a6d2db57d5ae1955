import { describe, expect, it } from 'vitest';
import { CreateSandboxRequest, ZERO_TIME } from '@burrow/protocol';
import { canonicalKeys } from './body.js';
import { contentDisposition } from './routes/files.js';
import { addressKey, TokenBuckets } from './rate-limit.js';
import { decodeQueryComponent, rawQueryParam } from './query-path.js';
import { RouteRegistry } from './route-registry.js';
import { rfc3339 } from './wire.js';

describe('token buckets', () => {
  function clock() {
    let now = 0;
    return { now: () => now, advance: (ms: number) => (now += ms) };
  }

  it('allows the burst, then refills at rps with a whole-second Retry-After', () => {
    const time = clock();
    const buckets = new TokenBuckets({ rps: 2, burst: 2, now: time.now });
    expect(buckets.take('a')).toEqual({ allowed: true });
    expect(buckets.take('a')).toEqual({ allowed: true });
    expect(buckets.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    time.advance(500);
    expect(buckets.take('a')).toEqual({ allowed: true });
    expect(buckets.take('b')).toEqual({ allowed: true });
  });

  it('evicts the least recently seen caller when full, never letting everyone through', () => {
    const time = clock();
    const buckets = new TokenBuckets({ rps: 0.001, burst: 1, maxKeys: 2, now: time.now });
    buckets.take('a');
    buckets.take('b');
    buckets.take('a');
    buckets.take('c');
    expect(buckets.size).toBe(2);
    expect(buckets.take('a').allowed).toBe(false);
    expect(buckets.take('b').allowed).toBe(true);
  });

  it('sweeps only buckets that have refilled', () => {
    const time = clock();
    const buckets = new TokenBuckets({ rps: 1, burst: 5, now: time.now });
    buckets.take('a');
    time.advance(4000);
    buckets.take('b');
    time.advance(1000);
    buckets.sweep();
    expect(buckets.size).toBe(1);
  });

  it('groups IPv6 callers by /64 and unwraps IPv4-mapped addresses', () => {
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(addressKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0db8:0000:0001:aaaa::9')).toBe('2001:db8:0:1::/64');
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
  });
});

describe('query paths', () => {
  it('decodes percent escapes to raw bytes and + to space', () => {
    expect(decodeQueryComponent('%2Ftmp%2F%FF+x')).toEqual(
      Buffer.from([0x2f, 0x74, 0x6d, 0x70, 0x2f, 0xff, 0x20, 0x78]),
    );
    expect(decodeQueryComponent('%G1')).toBeUndefined();
    expect(rawQueryParam('/x?a=1&path=%2Fa&path=%2Fb', 'path')?.toString()).toBe('/a');
    expect(rawQueryParam('/x?a=1', 'path')).toBeUndefined();
    expect(() => rawQueryParam('/x?path=%Z', 'path')).toThrow(/percent-encoding/);
  });

  it('sanitises download names as Den does', () => {
    expect(contentDisposition('/tmp/report.csv')).toBe('attachment; filename="report.csv"');
    expect(contentDisposition(Buffer.from('/tmp/\xff', 'latin1'))).toBe('attachment; filename="_"');
    expect(contentDisposition('/tmp/café.txt')).toBe(
      `attachment; filename="caf_.txt"; filename*=UTF-8''caf%C3%A9.txt`,
    );
  });
});

describe('wire helpers', () => {
  it('prints RFC 3339 as Go does, with the zero instant for none', () => {
    expect(rfc3339(new Date('2026-03-03T11:44:25.800Z'))).toBe('2026-03-03T11:44:25.8Z');
    expect(rfc3339(new Date('2026-03-03T11:44:25.000Z'))).toBe('2026-03-03T11:44:25Z');
    expect(rfc3339(new Date('2026-03-03T11:44:25.123Z'))).toBe('2026-03-03T11:44:25.123Z');
    expect(rfc3339(undefined)).toBe(ZERO_TIME);
    expect(rfc3339(new Date(Number.NaN))).toBe(ZERO_TIME);
  });

  it('matches JSON keys case-insensitively, preferring exact names, recursively', () => {
    const value = canonicalKeys(
      {
        IMAGE: 'a',
        image: 'b',
        Storage: { Volumes: [{ Name: 'v', MOUNT_PATH: '/m' }] },
        Env: { KeepCase: 'x' },
        extra: 1,
      },
      CreateSandboxRequest,
    );
    expect(value).toEqual({
      image: 'b',
      storage: { volumes: [{ name: 'v', mount_path: '/m' }] },
      env: { KeepCase: 'x' },
    });
  });

  it('finds the methods of a concrete path', () => {
    const registry = new RouteRegistry();
    registry.add('GET', '/api/v1/sandboxes/:id');
    registry.add('DELETE', '/api/v1/sandboxes/:id');
    registry.add('HEAD', '/api/v1/sandboxes/:id');
    expect(registry.methodsFor('/api/v1/sandboxes/abc')).toEqual(['GET', 'DELETE']);
    expect(registry.methodsFor('/api/v1/sandboxes/abc/x')).toEqual([]);
  });
});
