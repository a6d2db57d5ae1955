import { describe, expect, it } from 'vitest';
import { AddressGuard } from './address-guard.js';
import {
  checkDestination,
  checkPolicy,
  checkResolvedAddress,
  compilePolicy,
  normaliseHost,
  parseCidr,
  type Cidr,
} from './egress-policy.js';
import { parseClientHello } from './sni.js';

const compiled = (allow: string[], deny: string[] = []) => compilePolicy(checkPolicy({ allow, deny }));
const allowed = (policy: ReturnType<typeof compiled>, host: string) =>
  checkDestination(policy, normaliseHost(host)).allowed;

describe('egress policies', () => {
  it('matches exact names, wildcards (not the apex), *, and CIDRs only for addresses', () => {
    const policy = compiled(['Example.COM.', '*.api.example.org', '203.0.113.0/24', '2001:db8::/32']);
    expect(allowed(policy, 'example.com')).toBe(true);
    expect(allowed(policy, 'EXAMPLE.com.')).toBe(true);
    expect(allowed(policy, 'www.example.com')).toBe(false);
    expect(allowed(policy, 'a.b.api.example.org')).toBe(true);
    expect(allowed(policy, 'api.example.org')).toBe(false);
    expect(allowed(policy, 'evilapi.example.org')).toBe(false);
    expect(allowed(policy, '203.0.113.9')).toBe(true);
    expect(allowed(policy, '203.0.114.9')).toBe(false);
    expect(allowed(policy, '[2001:db8::1]')).toBe(true);
    expect(allowed(policy, '::ffff:203.0.113.9')).toBe(true);
    expect(allowed(compiled(['*']), 'anything.at.all')).toBe(true);
    expect(allowed(compiled([]), 'example.com')).toBe(false);
  });

  it('lets deny win, by name and by the addresses a name resolves to', () => {
    const policy = compiled(['*'], ['*.internal.example', '10.0.0.0/8']);
    expect(checkDestination(policy, 'db.internal.example')).toEqual({
      allowed: false,
      reason: "db.internal.example is denied by this sandbox's egress policy (*.internal.example)",
    });
    expect(checkResolvedAddress(policy, '10.2.3.4').allowed).toBe(false);
    expect(checkResolvedAddress(policy, '93.184.216.34').allowed).toBe(true);
  });

  it('normalises entries and refuses malformed ones with the field', () => {
    expect(checkPolicy({ allow: ['A.com', 'a.com', '10.1.2.3', '10.0.0.0/8'] })).toEqual({
      allow: ['a.com', '10.1.2.3/32', '10.0.0.0/8'],
      deny: [],
    });
    for (const bad of ['http://x.com', 'a..b', '*.', '10.0.0.0/33', '-bad.com', 'x y', '*.*.com']) {
      expect(() => checkPolicy({ allow: [bad] })).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
    expect(() => checkPolicy({ deny: new Array(300).fill('a.com') })).toThrow(/at most 256/);
  });
});

describe('the address guard', () => {
  const guard = new AddressGuard({
    allowRanges: [parseCidr('10.5.0.0/16') as Cidr, parseCidr('169.254.0.0/16') as Cidr],
    localAddresses: () => ['192.0.2.10', '127.0.0.1'],
  });
  it('never lets metadata or link-local through, even when a range allows it', () => {
    expect(guard.check('169.254.169.254')).toMatchObject({ allowed: false });
    expect(guard.check('fd00:ec2::254')).toMatchObject({ allowed: false });
    expect(guard.check('169.254.1.1')).toMatchObject({ allowed: false });
  });
  it('lets internal ranges through only where the operator allows, and refuses the host itself', () => {
    expect(guard.check('10.5.1.1')).toEqual({ allowed: true });
    expect(guard.check('10.6.1.1')).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/allow_private/),
    });
    expect(guard.check('127.0.0.1')).toMatchObject({ allowed: false });
    expect(guard.check('192.0.2.10')).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/Burrow host itself/),
    });
    expect(guard.check('93.184.216.34')).toEqual({ allowed: true });
  });
});

describe('TLS server names', () => {
  function hello(name: string | undefined): Buffer {
    const ext =
      name === undefined
        ? Buffer.alloc(0)
        : (() => {
            const host = Buffer.from(name);
            const entry = Buffer.concat([Buffer.from([0]), u16(host.length), host]);
            const list = Buffer.concat([u16(entry.length), entry]);
            return Buffer.concat([u16(0), u16(list.length), list]);
          })();
    const body = Buffer.concat([
      Buffer.from([3, 3]),
      Buffer.alloc(32),
      Buffer.from([0]),
      u16(2),
      Buffer.from([0x13, 0x01]),
      Buffer.from([1, 0]),
      u16(ext.length),
      ext,
    ]);
    const handshake = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
    return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(handshake.length), handshake]);
  }
  function u16(value: number): Buffer {
    const out = Buffer.alloc(2);
    out.writeUInt16BE(value);
    return out;
  }

  it('reads SNI, waits for more bytes, and tells TLS from other protocols and from garbage', () => {
    const full = hello('api.example.com');
    expect(parseClientHello(full)).toEqual({ kind: 'tls', serverName: 'api.example.com' });
    expect(parseClientHello(full.subarray(0, 20))).toBeUndefined();
    expect(parseClientHello(hello(undefined))).toEqual({ kind: 'tls' });
    expect(parseClientHello(Buffer.from('SSH-2.0-OpenSSH\r\n'))).toEqual({ kind: 'other' });
    const broken = Buffer.from(full);
    broken[5] = 2; // not a ClientHello
    expect(parseClientHello(broken)).toEqual({ kind: 'malformed' });
  });
});
