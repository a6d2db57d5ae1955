/**
 * Egress policies: which destinations a sandbox may reach through the egress proxy. Entries are names
 * (`example.com`), wildcards (`*.example.com` for every name under it, `*` for every destination), addresses and
 * CIDRs (`203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`). Deny wins over allow; anything not allowed is refused.
 * Pure: the proxy resolves names and asks `checkAddress` about every address it would connect to.
 */
import { BurrowError } from '@burrow/protocol';
import { canonicalIp, parseIp } from '../storage/s3/index.js';
import type { EgressPolicy } from '../runtime/runtime.js';

/** Most entries one list may hold. */
export const MAX_POLICY_ENTRIES = 256;

export interface Cidr {
  bytes: Uint8Array;
  prefix: number;
  text: string;
}

type Entry =
  | { kind: 'any' }
  | { kind: 'name'; name: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'cidr'; cidr: Cidr };

export interface CompiledPolicy {
  allow: Entry[];
  deny: Entry[];
}

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A host name as the proxy compares it: lower case, no trailing dot, no IPv6 brackets. */
export function normaliseHost(host: string): string {
  let text = host.trim().toLowerCase();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (text.endsWith('.')) text = text.slice(0, -1);
  return canonicalIp(text) ?? text;
}

export function isHostName(text: string): boolean {
  return text.length <= 253 && text.split('.').every((label) => LABEL.test(label));
}

export function parseCidr(text: string): Cidr | undefined {
  const [address = '', prefixText, ...rest] = text.split('/');
  if (rest.length > 0) return undefined;
  const canonical = canonicalIp(address);
  const bytes = canonical === undefined ? undefined : parseIp(canonical);
  if (canonical === undefined || bytes === undefined) return undefined;
  const max = bytes.length * 8;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { bytes, prefix, text: `${canonical}/${prefix}` };
}

export function inCidr(address: string, cidr: Cidr): boolean {
  const canonical = canonicalIp(address);
  const bytes = canonical === undefined ? undefined : parseIp(canonical);
  if (bytes === undefined || bytes.length !== cidr.bytes.length) return false;
  const full = Math.floor(cidr.prefix / 8);
  for (let i = 0; i < full; i += 1) if (bytes[i] !== cidr.bytes[i]) return false;
  const rest = cidr.prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((bytes[full] ?? 0) & mask) === ((cidr.bytes[full] ?? 0) & mask);
}

function parseEntry(raw: string, field: string): Entry {
  const text = raw.trim().toLowerCase();
  if (text === '*') return { kind: 'any' };
  const cidr = parseCidr(text);
  if (cidr !== undefined) return { kind: 'cidr', cidr };
  if (text.startsWith('*.') && isHostName(text.slice(2))) return { kind: 'suffix', suffix: text.slice(1) };
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.includes('.') || name === 'localhost' || /^[a-z0-9_-]+$/.test(name)) {
    if (isHostName(name)) return { kind: 'name', name };
  }
  throw new BurrowError(
    'VALIDATION_FAILED',
    `${field}: "${raw.slice(0, 100)}" is not a destination: use a name (example.com), a wildcard (*.example.com or *), an address or a CIDR (10.0.0.0/8)`,
    { field },
  );
}

function entryText(entry: Entry): string {
  switch (entry.kind) {
    case 'any':
      return '*';
    case 'name':
      return entry.name;
    case 'suffix':
      return `*${entry.suffix}`;
    case 'cidr':
      return entry.cidr.text;
  }
}

/** Checks a policy from a request or the configuration; returns it with entries normalised (lower case, CIDR form). */
export function checkPolicy(policy: { allow?: string[]; deny?: string[] }, field = 'egress'): EgressPolicy {
  const lists = { allow: policy.allow ?? [], deny: policy.deny ?? [] };
  for (const [name, list] of Object.entries(lists)) {
    if (list.length > MAX_POLICY_ENTRIES) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `${field}.${name}: at most ${MAX_POLICY_ENTRIES} entries (got ${list.length})`,
        { field: `${field}.${name}` },
      );
    }
  }
  const normalise = (list: string[], name: string) => [
    ...new Set(list.map((raw) => entryText(parseEntry(raw, `${field}.${name}`)))),
  ];
  return { allow: normalise(lists.allow, 'allow'), deny: normalise(lists.deny, 'deny') };
}

export function compilePolicy(policy: EgressPolicy): CompiledPolicy {
  return {
    allow: policy.allow.map((raw) => parseEntry(raw, 'egress.allow')),
    deny: policy.deny.map((raw) => parseEntry(raw, 'egress.deny')),
  };
}

function matches(entry: Entry, host: string, isAddress: boolean): boolean {
  switch (entry.kind) {
    case 'any':
      return true;
    case 'name':
      return !isAddress && host === entry.name;
    case 'suffix':
      return !isAddress && host.endsWith(entry.suffix);
    case 'cidr':
      return isAddress && inCidr(host, entry.cidr);
  }
}

export type Verdict = { allowed: true } | { allowed: false; reason: string };

/**
 * The decision on a destination as the program named it (the HTTP Host, the CONNECT target or the TLS SNI), before
 * any name is resolved. `host` must be normalised.
 */
export function checkDestination(policy: CompiledPolicy, host: string): Verdict {
  const isAddress = canonicalIp(host) !== undefined;
  const denied = policy.deny.find((entry) => matches(entry, host, isAddress));
  if (denied !== undefined) {
    return {
      allowed: false,
      reason: `${host} is denied by this sandbox's egress policy (${entryText(denied)})`,
    };
  }
  if (policy.allow.some((entry) => matches(entry, host, isAddress))) return { allowed: true };
  return { allowed: false, reason: `${host} is not in this sandbox's egress allow list` };
}

/** The decision on one address a name resolved to: a deny CIDR refuses it (no DNS rebinding around the list). */
export function checkResolvedAddress(policy: CompiledPolicy, address: string): Verdict {
  const denied = policy.deny.find((entry) => entry.kind === 'cidr' && inCidr(address, entry.cidr));
  if (denied !== undefined) {
    return {
      allowed: false,
      reason: `it resolves to ${address}, which the egress policy denies (${entryText(denied)})`,
    };
  }
  return { allowed: true };
}

/** The server's deny list joined to a sandbox's policy (the operator's deny applies to every sandbox). */
export function withServerDeny(policy: EgressPolicy, serverDeny: readonly string[]): EgressPolicy {
  if (serverDeny.length === 0) return policy;
  return { allow: policy.allow, deny: [...new Set([...policy.deny, ...serverDeny])] };
}
