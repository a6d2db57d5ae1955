import { describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import { canonicalHost, parseEndpoint } from './endpoint.js';
import { canonicalIp, classifyIp } from './ip.js';
import { firstNeverExempt, resolvePinnedSet, SsrfPolicy, type Resolver } from './ssrf.js';

/** A DNS stand-in: names map to answer lists; anything else is NXDOMAIN. */
function fakeDns(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = (host: string) => {
    calls.push(host);
    const answers = table[host];
    if (answers === undefined)
      return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
    return Promise.resolve(answers);
  };
  return Object.assign(resolver, { calls });
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isBurrowError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('canonicalHost', () => {
  it.each([
    ['EXAMPLE.com', 'example.com'],
    ['example.com.', 'example.com'],
    ['[::1]', '::1'],
    ['[FE80::1%eth0]', 'fe80::1'],
    ['fe80::1%25eth0', 'fe80::1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['[::ffff:7f00:1]', '127.0.0.1'],
    ['::FFFF:169.254.169.254', '169.254.169.254'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['127.0.0.1', '127.0.0.1'],
    ['10.0.0.1.', '10.0.0.1'],
    ['minio', 'minio'],
    ['my_minio.internal', 'my_minio.internal'],
    ['0x7f.example.com', '0x7f.example.com'],
  ])('%s → %s', (raw, canonical) => {
    expect(canonicalHost(raw)).toBe(canonical);
  });

  it.each([
    '127.1',
    '0x7f.1',
    '0x7f000001',
    '2130706433',
    '017700000001',
    '0177.0.0.1',
    '127.0.0.01',
    '127.000.000.001',
    '1.2.3.256',
    '1.2.3.4.5',
    'example.0x10',
    'bücher.example',
    'xn--bcher-kva.example',
    'XN--BCHER-KVA.example',
    '',
    '.',
    'a..b',
    'exa mple.com',
    '-bad.example',
    'gg::1',
  ])('refuses %j', (raw) => {
    let message = '';
    try {
      canonicalHost(raw);
    } catch (error) {
      message = isBurrowError(error, 'VALIDATION_FAILED') ? error.message : 'wrong error';
    }
    expect(message).toMatch(/^invalid endpoint host/);
  });
});

describe('parseEndpoint', () => {
  it.each([
    ['https://s3.example.com', 'https', 's3.example.com', 443, 'https://s3.example.com:443'],
    ['http://127.0.0.1:9000', 'http', '127.0.0.1', 9000, 'http://127.0.0.1:9000'],
    ['HTTP://MinIO:9000/', 'http', 'minio', 9000, 'http://minio:9000'],
    ['minio:9000', 'https', 'minio', 9000, 'https://minio:9000'],
    ['s3.example.com', 'https', 's3.example.com', 443, 'https://s3.example.com:443'],
    ['http://[::1]:9000', 'http', '::1', 9000, 'http://[::1]:9000'],
    ['[fd00::5]:80', 'https', 'fd00::5', 80, 'https://[fd00::5]:80'],
    ['::1', 'https', '::1', 443, 'https://[::1]:443'],
    ['https://gw.example.com/s3', 'https', 'gw.example.com', 443, 'https://gw.example.com:443/s3'],
  ])('%s', (endpoint, scheme, host, port, url) => {
    const parsed = parseEndpoint(endpoint);
    expect([parsed.scheme, parsed.host, parsed.port, parsed.url]).toEqual([scheme, host, port, url]);
  });

  it.each([
    ['ftp://s3.example.com', /http or https/],
    ['file:///etc/passwd', /http or https/],
    ['http://user:pass@s3.example.com', /credentials in the URL/],
    ['http://s3.example.com:0', /port must be/],
    ['http://s3.example.com:99999', /port must be/],
    ['http://s3.example.com:abc', /port must be/],
    ['http://s3.example.com/?x=1', /query or fragment/],
    ['http://127.1:9000', /invalid endpoint host/],
    ['http://[::1', /invalid endpoint host/],
    ['   ', /endpoint is empty/],
  ])('refuses %s', (endpoint, message) => {
    expect(() => parseEndpoint(endpoint)).toThrow(message);
  });
});

describe('classifyIp', () => {
  it.each([
    ['127.0.0.1', 'loopback', false],
    ['127.255.0.9', 'loopback', false],
    ['::1', 'loopback', false],
    ['10.1.2.3', 'private', false],
    ['172.16.0.1', 'private', false],
    ['172.31.255.255', 'private', false],
    ['192.168.1.1', 'private', false],
    ['fc00::1', 'unique-local', false],
    ['fd12:3456::1', 'unique-local', false],
    ['100.64.0.1', 'cgnat', false],
    ['100.127.255.255', 'cgnat', false],
    ['198.18.0.1', 'benchmark', false],
    ['198.19.255.255', 'benchmark', false],
    ['169.254.169.254', 'metadata', true],
    ['169.254.169.253', 'metadata', true],
    ['100.100.100.200', 'metadata', true],
    ['fd00:ec2::254', 'metadata', true],
    ['169.254.1.1', 'link-local', true],
    ['fe80::1', 'link-local', true],
    ['224.0.0.1', 'multicast', true],
    ['239.255.255.250', 'multicast', true],
    ['ff02::1', 'multicast', true],
    ['ff05::2', 'multicast', true],
    ['0.0.0.0', 'unspecified', true],
    ['::', 'unspecified', true],
    ['255.255.255.255', 'reserved', true],
    ['::ffff:10.0.0.1', 'private', false],
    ['::ffff:169.254.169.254', 'metadata', true],
    ['64:ff9b::127.0.0.1', 'loopback', false],
    ['::192.168.0.1', 'private', false],
  ])('%s is %s (never exempt: %s)', (ip, kind, neverExempt) => {
    const ipClass = classifyIp(ip);
    expect(ipClass.kind).toBe(kind);
    expect(ipClass.blocked).toBe(true);
    expect(ipClass.neverExempt).toBe(neverExempt);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '52.216.0.1',
    '172.32.0.1',
    '172.15.255.255',
    '100.128.0.1',
    '100.63.255.255',
    '198.20.0.1',
    '2606:4700::1111',
    '64:ff9b::8.8.8.8',
    '::ffff:8.8.8.8',
  ])('%s is public', (ip) => {
    expect(classifyIp(ip)).toMatchObject({ kind: 'public', blocked: false, neverExempt: false });
  });

  it('canonicalises addresses', () => {
    expect(canonicalIp('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(canonicalIp('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalIp('2001:db8::0:1')).toBe('2001:db8::1');
    expect(canonicalIp('1:0:0:4:0:0:0:8')).toBe('1:0:0:4::8');
    expect(canonicalIp('1:2:3:4:5:6:7:8')).toBe('1:2:3:4:5:6:7:8');
    expect(canonicalIp('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7');
    expect(canonicalIp('example.com')).toBeUndefined();
  });
});

describe('firstNeverExempt and resolvePinnedSet', () => {
  it('finds the first never-exemptable address', () => {
    expect(firstNeverExempt(['8.8.8.8', '10.0.0.1'])).toBeUndefined();
    expect(firstNeverExempt(['8.8.8.8', '10.0.0.1', 'fe80::1', '169.254.169.254'])?.ip).toBe('fe80::1');
    expect(firstNeverExempt(['::ffff:169.254.169.254'])?.kind).toBe('metadata');
  });

  it('resolves names to the canonical, de-duplicated answer set; literals resolve to themselves', async () => {
    const dns = fakeDns({ 'multi.test': ['203.0.113.7', '::ffff:203.0.113.7', '2001:DB8::1', 'garbage'] });
    expect(await resolvePinnedSet('multi.test', dns)).toEqual(['203.0.113.7', '2001:db8::1']);
    expect(await resolvePinnedSet('10.0.0.1', dns)).toEqual(['10.0.0.1']);
    expect(dns.calls).toEqual(['multi.test']);
    expect(await refusal(resolvePinnedSet('nowhere.test', dns))).toMatchObject({
      code: 'S3_ERROR',
      message: expect.stringMatching(/could not be resolved \(ENOTFOUND\)/),
    });
    expect(await refusal(resolvePinnedSet('empty.test', fakeDns({ 'empty.test': [] })))).toMatchObject({
      code: 'S3_ERROR',
    });
  });
});

describe('SsrfPolicy request-time check (s3_validate_test)', () => {
  const dns = fakeDns({
    's3.example.com': ['52.216.0.10'],
    'minio.internal': ['10.0.0.5'],
    'rebind.test': ['52.216.0.10', '10.0.0.5'],
    'rebind-meta.test': ['52.216.0.10', '169.254.169.254'],
    'mapped.test': ['::ffff:127.0.0.1'],
  });
  const closed = new SsrfPolicy({ allowInternalEndpoint: false, resolver: dns });
  const exempt = new SsrfPolicy({
    allowInternalEndpoint: true,
    serverEndpoint: 'http://127.0.0.1:9000',
    resolver: dns,
  });

  it('an empty endpoint needs no check', async () => {
    expect(await closed.checkRequestEndpoint('')).toBeUndefined();
    expect(await closed.checkRequestEndpoint(undefined)).toBeUndefined();
  });

  it('public endpoints pass', async () => {
    expect((await closed.checkEndpoint('https://52.216.0.10')).addresses).toEqual(['52.216.0.10']);
    expect((await closed.checkEndpoint('https://s3.example.com')).addresses).toEqual(['52.216.0.10']);
  });

  it('loopback is blocked by default, with a message saying what to change', async () => {
    const error = await refusal(closed.checkEndpoint('http://127.0.0.1:9000'));
    expect(error.code).toBe('SSRF_BLOCKED');
    expect(error.message).toMatch(/loopback/);
    expect(error.message).toMatch(/s3\.allow_internal_endpoint=true/);
    expect((await refusal(closed.checkEndpoint('http://[::1]:9000'))).code).toBe('SSRF_BLOCKED');
    expect((await refusal(closed.checkEndpoint('http://[::ffff:127.0.0.1]:9000'))).code).toBe('SSRF_BLOCKED');
    expect((await refusal(closed.checkEndpoint('http://mapped.test:9000'))).code).toBe('SSRF_BLOCKED');
    expect((await refusal(closed.checkEndpoint('http://minio.internal:9000'))).message).toMatch(
      /minio\.internal resolves to 10\.0\.0\.5/,
    );
  });

  it('metadata is blocked even with the exemption', async () => {
    for (const endpoint of [
      'http://169.254.169.254',
      'http://[fd00:ec2::254]',
      'http://100.100.100.200',
      'http://169.254.169.253',
    ]) {
      const error = await refusal(exempt.checkEndpoint(endpoint));
      expect(error.code).toBe('SSRF_BLOCKED');
      expect(error.message).toMatch(/never allowed/);
    }
  });

  it('ambiguous numeric hosts are invalid, not resolved', async () => {
    const error = await refusal(closed.checkEndpoint('http://127.1'));
    expect(error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/^invalid endpoint host/),
    });
    expect((await refusal(exempt.checkEndpoint('http://2130706433:9000'))).code).toBe('VALIDATION_FAILED');
  });

  it('non-http schemes are refused', async () => {
    expect(await refusal(closed.checkEndpoint('ftp://s3.example.com'))).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/http or https/),
    });
  });

  it('the configured loopback endpoint is allowed with the exemption; a different loopback address is refused', async () => {
    expect((await exempt.checkEndpoint('http://127.0.0.1:9000')).addresses).toEqual(['127.0.0.1']);
    const error = await refusal(exempt.checkEndpoint('http://127.0.0.2:9000'));
    expect(error.code).toBe('SSRF_BLOCKED');
    expect(error.message).toMatch(/covers only the addresses and port of s3\.endpoint/);
    expect((await refusal(exempt.checkEndpoint('http://minio.internal'))).code).toBe('SSRF_BLOCKED');
    expect((await refusal(exempt.checkEndpoint('http://127.0.0.1:22'))).message).toMatch(
      /addresses and port of s3\.endpoint/,
    );
  });

  it('a name is checked by EVERY answer: public + private (rebinding style) is refused', async () => {
    expect((await refusal(closed.checkEndpoint('https://rebind.test'))).message).toMatch(
      /rebind\.test resolves to 10\.0\.0\.5/,
    );
    expect((await refusal(exempt.checkEndpoint('https://rebind-meta.test'))).message).toMatch(
      /never allowed/,
    );
  });

  it('an unresolvable request endpoint is a validation failure', async () => {
    expect((await refusal(closed.checkEndpoint('https://nxdomain.test'))).code).toBe('VALIDATION_FAILED');
  });
});

describe('SsrfPolicy exemption ordering and pinning (ssrf_test)', () => {
  it('the exemption needs a server endpoint with an extractable host', () => {
    expect(() => new SsrfPolicy({ allowInternalEndpoint: true })).toThrow(/requires s3\.endpoint/);
    expect(() => new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: 'ftp://x' })).toThrow(
      /s3\.endpoint is not usable/,
    );
    expect(() => new SsrfPolicy({ allowInternalEndpoint: false })).not.toThrow();
  });

  it('never-exempt wins over the exemption even when the server endpoint itself is metadata', async () => {
    const dns = fakeDns({ 'meta.test': ['169.254.169.254'] });
    const policy = new SsrfPolicy({
      allowInternalEndpoint: true,
      serverEndpoint: 'http://meta.test',
      resolver: dns,
    });
    expect((await refusal(policy.checkServerEndpoint())).message).toMatch(/never allowed/);
    expect((await refusal(policy.pin('http://meta.test'))).code).toBe('SSRF_BLOCKED');
    expect(await policy.permits('169.254.169.254')).toBe(false);
  });

  it('exemption off: internal refused; exemption on: only the server endpoint addresses', async () => {
    const dns = fakeDns({ 'minio.test': ['10.0.0.5', 'fd00::5'] });
    const off = new SsrfPolicy({
      allowInternalEndpoint: false,
      serverEndpoint: 'http://minio.test:9000',
      resolver: dns,
    });
    const on = new SsrfPolicy({
      allowInternalEndpoint: true,
      serverEndpoint: 'http://minio.test:9000',
      resolver: dns,
    });
    expect(await off.permits('10.0.0.5')).toBe(false);
    expect(await on.permits('10.0.0.5')).toBe(true);
    expect(await on.permits('fd00::5')).toBe(true);
    expect(await on.permits('10.0.0.6')).toBe(false);
    expect(await on.permits('8.8.8.8')).toBe(true);
    expect((await refusal(off.pin('http://minio.test:9000'))).code).toBe('SSRF_BLOCKED');
    expect((await on.pin('http://minio.test:9000')).pinned).toBe('10.0.0.5');
  });

  it('pin fails at construction when any answer is never-exemptable, and pins the first permitted answer', async () => {
    const dns = fakeDns({
      'mixed.test': ['52.216.0.1', '169.254.169.254'],
      'order.test': ['10.0.0.9', '52.216.0.2', '52.216.0.3'],
    });
    const policy = new SsrfPolicy({ allowInternalEndpoint: false, resolver: dns });
    expect((await refusal(policy.pin('https://mixed.test'))).message).toMatch(
      /169\.254\.169\.254.*never allowed/,
    );
    const pinned = await policy.pin('https://order.test');
    expect(pinned.addresses).toEqual(['10.0.0.9', '52.216.0.2', '52.216.0.3']);
    expect(pinned.pinned).toBe('52.216.0.2');
    expect(pinned.host).toBe('order.test');
  });

  it('strict pinning requires every answer to be permitted', async () => {
    const dns = fakeDns({ 'mixed.test': ['52.216.0.1', '10.0.0.1'] });
    const policy = new SsrfPolicy({ allowInternalEndpoint: false, resolver: dns });
    expect((await policy.pin('https://mixed.test')).pinned).toBe('52.216.0.1');
    expect((await refusal(policy.pin('https://mixed.test', { strict: true }))).message).toMatch(
      /10\.0\.0\.1/,
    );
  });

  it('checks the server endpoint at startup', async () => {
    const dns = fakeDns({ 'minio.test': ['10.0.0.5'] });
    const policy = new SsrfPolicy({
      allowInternalEndpoint: true,
      serverEndpoint: 'http://minio.test:9000',
      resolver: dns,
    });
    expect((await policy.checkServerEndpoint())?.addresses).toEqual(['10.0.0.5']);
    expect(await new SsrfPolicy({ allowInternalEndpoint: false }).checkServerEndpoint()).toBeUndefined();
  });

  it('a literal endpoint pins itself without DNS', async () => {
    const dns = fakeDns({});
    const policy = new SsrfPolicy({
      allowInternalEndpoint: true,
      serverEndpoint: 'http://127.0.0.1:9000',
      resolver: dns,
    });
    expect((await policy.pin('http://127.0.0.1:9000')).pinned).toBe('127.0.0.1');
    expect(dns.calls).toEqual([]);
  });
});
