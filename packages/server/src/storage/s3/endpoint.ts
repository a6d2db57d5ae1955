/**
 * Parsing and canonicalising S3 endpoints. The WHATWG URL parser is deliberately not used for the host: it
 * rewrites `127.1`, `0x7f.1` and `2130706433` into `127.0.0.1` and Unicode into punycode, which hides exactly the
 * ambiguous forms the SSRF guard must refuse. The authority is split by hand and the host checked as written.
 */
import { BurrowError } from '@burrow/protocol';
import { canonicalIp, isStrictIPv4 } from './ip.js';

export interface ParsedEndpoint {
  /** The endpoint as configured or requested. */
  original: string;
  scheme: 'http' | 'https';
  /** Canonical host: lower-case name without trailing dot, dotted quad, or RFC 5952 IPv6 (no brackets). */
  host: string;
  /** The host when it is an IP literal. */
  ip: string | undefined;
  port: number;
  /** Path part (`/` when absent); some S3 gateways live under a path. */
  path: string;
  /** `host:port` (IPv6 in brackets), for messages. */
  authority: string;
  /** Normalised URL with the canonical host, for the S3 client. */
  url: string;
}

function invalidHost(host: string, why: string): BurrowError {
  return new BurrowError('VALIDATION_FAILED', `invalid endpoint host ${JSON.stringify(host)}: ${why}`);
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;
/** A label that a URL parser would read as (part of) a number: decimal, octal or hex. */
const NUMERIC_LABEL = /^(0x[0-9a-f]*|[0-9]+)$/;

/**
 * Canonical form of an endpoint host, or a VALIDATION_FAILED error saying what to change. Accepts an optional
 * `[...]` around IPv6 and a `%zone`, which is dropped.
 */
export function canonicalHost(raw: string): string {
  let host = raw.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const zone = host.indexOf('%');
  if (zone >= 0) host = host.slice(0, zone);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') throw invalidHost(raw, 'the host is empty: give a host name or IP address');
  if (/[^\x21-\x7e]/.test(host)) {
    throw invalidHost(
      raw,
      'only ASCII host names are accepted (internationalised names are refused): use an ASCII name or an IP address',
    );
  }
  if (host.includes(':')) {
    const ip = canonicalIp(host);
    if (ip === undefined) throw invalidHost(raw, 'not a valid IPv6 address');
    return ip;
  }
  const labels = host.split('.');
  // As URL parsers do: a host whose last label is a number is an IPv4 address, and only a dotted quad is unambiguous.
  if (NUMERIC_LABEL.test(labels.at(-1) ?? '')) {
    if (isStrictIPv4(host)) return host;
    throw invalidHost(
      raw,
      'ambiguous numeric address (short, octal, hex or integer forms are refused): write the IPv4 address as a dotted quad such as 192.0.2.10',
    );
  }
  if (host.length > 253) throw invalidHost(raw, 'the host name is longer than 253 characters');
  for (const label of labels) {
    if (label.startsWith('xn--')) {
      throw invalidHost(raw, 'punycode (xn--) labels are refused: use an ASCII name or an IP address');
    }
    if (!LABEL.test(label)) {
      throw invalidHost(
        raw,
        'a host name may contain only letters, digits, "-" and "_" in dot-separated labels of 1-63 characters',
      );
    }
  }
  return host;
}

function parsePort(text: string, original: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `invalid endpoint ${JSON.stringify(original)}: port must be a number from 1 to 65535`,
    );
  }
  return Number(text);
}

/**
 * Parses an endpoint given as a full URL (`https://s3.example.com:9000`), `host:port` or a bare host. Without a
 * scheme, https is assumed. Only http and https are accepted; user info, query and fragment are refused.
 */
export function parseEndpoint(endpoint: string): ParsedEndpoint {
  const original = endpoint;
  const text = endpoint.trim();
  if (text === '')
    throw new BurrowError(
      'VALIDATION_FAILED',
      'endpoint is empty: give a URL such as https://s3.example.com',
    );
  let scheme: 'http' | 'https' = 'https';
  let rest = text;
  const schemeEnd = text.indexOf('://');
  if (schemeEnd >= 0) {
    const given = text.slice(0, schemeEnd).toLowerCase();
    if (given !== 'http' && given !== 'https') {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `invalid endpoint ${JSON.stringify(original)}: the scheme must be http or https, e.g. https://s3.example.com`,
      );
    }
    scheme = given;
    rest = text.slice(schemeEnd + 3);
  }
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const path = authorityEnd < 0 ? '/' : rest.slice(authorityEnd);
  if (/[?#]/.test(path)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `invalid endpoint ${JSON.stringify(original)}: remove the query or fragment`,
    );
  }
  if (authority.includes('@')) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `invalid endpoint ${JSON.stringify(original)}: credentials in the URL are not accepted: pass access_key and secret_key instead`,
    );
  }
  let rawHost = authority;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) throw invalidHost(authority, 'missing "]" after an IPv6 address');
    rawHost = authority.slice(0, close + 1);
    const after = authority.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) throw invalidHost(authority, 'unexpected text after "]"');
      portText = after.slice(1);
    }
  } else if ((authority.match(/:/g) ?? []).length === 1) {
    [rawHost = '', portText] = authority.split(':');
  }
  const host = canonicalHost(rawHost);
  const port = portText === undefined ? (scheme === 'https' ? 443 : 80) : parsePort(portText, original);
  const ip = canonicalIp(host);
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  return {
    original,
    scheme,
    host,
    ip,
    port,
    path,
    authority: `${hostForUrl}:${port}`,
    url: `${scheme}://${hostForUrl}:${port}${path === '/' ? '' : path}`,
  };
}
