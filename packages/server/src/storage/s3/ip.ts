/**
 * IP address parsing, canonical formatting and classification for the SSRF guard. Plain byte arithmetic, no
 * dependencies: every address is turned into 4 or 16 bytes and matched against CIDR ranges.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** What an address is, as far as outbound S3 traffic is concerned. */
export type IpKind =
  | 'public'
  | 'metadata'
  | 'unspecified'
  | 'link-local'
  | 'multicast'
  | 'reserved'
  | 'loopback'
  | 'private'
  | 'unique-local'
  | 'site-local'
  | 'cgnat'
  | 'benchmark';

export interface IpClass {
  /** The address in canonical form (dotted quad, or RFC 5952 IPv6; IPv4-mapped IPv6 becomes IPv4). */
  ip: string;
  kind: IpKind;
  /** Not a public address: refused unless the internal-endpoint exemption covers it. */
  blocked: boolean;
  /** Refused even with the exemption (cloud metadata, link-local, multicast, unspecified, reserved). */
  neverExempt: boolean;
  /** Human wording for messages, e.g. `loopback range 127.0.0.0/8`. */
  description: string;
}

const NEVER_EXEMPT: ReadonlySet<IpKind> = new Set([
  'metadata',
  'unspecified',
  'link-local',
  'multicast',
  'reserved',
]);

interface Range {
  bytes: Uint8Array;
  prefix: number;
  kind: IpKind;
  cidr: string;
}

/** Specific ranges come first: the first match wins (metadata inside link-local, CGNAT and ULA). */
const RANGE_TABLE: ReadonlyArray<[string, IpKind]> = [
  ['169.254.169.254/32', 'metadata'],
  ['169.254.169.253/32', 'metadata'],
  ['100.100.100.200/32', 'metadata'],
  ['fd00:ec2::/32', 'metadata'],
  ['0.0.0.0/8', 'unspecified'],
  ['::/128', 'unspecified'],
  ['169.254.0.0/16', 'link-local'],
  ['fe80::/10', 'link-local'],
  ['224.0.0.0/4', 'multicast'],
  ['ff00::/8', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['127.0.0.0/8', 'loopback'],
  ['::1/128', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['fc00::/7', 'unique-local'],
  ['fec0::/10', 'site-local'],
  ['100.64.0.0/10', 'cgnat'],
  ['198.18.0.0/15', 'benchmark'],
];

const RANGES: Range[] = RANGE_TABLE.map(([cidr, kind]) => {
  const [address = '', prefix = ''] = cidr.split('/');
  const bytes = parseIp(address);
  if (bytes === undefined) throw new Error(`bad range ${cidr}`);
  return { bytes, prefix: Number(prefix), kind, cidr };
});

/** IPv6 prefixes whose last 32 bits carry an IPv4 address that a translator may reach (NAT64, IPv4-compatible). */
const EMBEDDING: ReadonlyArray<[Uint8Array, string]> = [
  [parseIp('64:ff9b::') ?? new Uint8Array(16), 'NAT64 64:ff9b::/96'],
  [new Uint8Array(16), 'IPv4-compatible ::/96'],
];

/** Parses a canonical-looking IPv4 dotted quad or IPv6 literal (no brackets, no zone) into bytes. */
export function parseIp(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return parseIPv4(text);
  if (isIPv6(text) && !text.includes('%')) return parseIPv6(text);
  return undefined;
}

/** Strict dotted quad: four decimal parts 0-255 without leading zeros. */
export function isStrictIPv4(text: string): boolean {
  return /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(text);
}

function parseIPv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

function parseIPv6(text: string): Uint8Array {
  let body = text;
  const lastColon = body.lastIndexOf(':');
  const last = body.slice(lastColon + 1);
  if (last.includes('.')) {
    // A trailing dotted quad (`::ffff:1.2.3.4`) is two groups written in decimal.
    const [a = 0, b = 0, c = 0, d = 0] = parseIPv4(last);
    body = `${body.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const [head = '', rest] = body.split('::');
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all =
    rest === undefined
      ? left
      : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = new Uint8Array(16);
  all.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** RFC 5952 text for 16 bytes: lower-case hex, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function isMapped(bytes: Uint8Array): boolean {
  return (
    bytes.length === 16 &&
    bytes.subarray(0, 10).every((b) => b === 0) &&
    bytes[10] === 0xff &&
    bytes[11] === 0xff
  );
}

/** Canonical text of an IP literal: IPv4-mapped IPv6 becomes IPv4, IPv6 is RFC 5952. Undefined if not an IP. */
export function canonicalIp(text: string): string | undefined {
  const bytes = parseIp(text);
  if (bytes === undefined) return undefined;
  if (bytes.length === 4) return [...bytes].join('.');
  if (isMapped(bytes)) return [...bytes.subarray(12)].join('.');
  return formatIPv6(bytes);
}

function inRange(bytes: Uint8Array, range: Range): boolean {
  if (bytes.length !== range.bytes.length) return false;
  const full = Math.floor(range.prefix / 8);
  for (let i = 0; i < full; i += 1) if (bytes[i] !== range.bytes[i]) return false;
  const rest = range.prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((bytes[full] ?? 0) & mask) === ((range.bytes[full] ?? 0) & mask);
}

function classFor(ip: string, kind: IpKind, description: string): IpClass {
  return { ip, kind, blocked: kind !== 'public', neverExempt: NEVER_EXEMPT.has(kind), description };
}

/** Classifies an IP literal. Throws on text that is not an IP literal (callers canonicalise first). */
export function classifyIp(text: string): IpClass {
  const ip = canonicalIp(text);
  const bytes = ip === undefined ? undefined : parseIp(ip);
  if (ip === undefined || bytes === undefined) throw new Error(`not an IP address: ${JSON.stringify(text)}`);
  const range = RANGES.find((candidate) => inRange(bytes, candidate));
  if (range !== undefined) return classFor(ip, range.kind, `${range.kind} range ${range.cidr}`);
  if (bytes.length === 16) {
    for (const [prefix, name] of EMBEDDING) {
      if (!bytes.subarray(0, 12).every((b, i) => b === prefix[i])) continue;
      const embedded = classifyIp([...bytes.subarray(12)].join('.'));
      if (embedded.blocked) return classFor(ip, embedded.kind, `${embedded.description} embedded in ${name}`);
    }
  }
  return classFor(ip, 'public', 'public');
}
