/**
 * The SSRF guard for S3 endpoints. A caller-supplied endpoint must not turn the server into a proxy towards its own
 * network: every address an endpoint resolves to must be public, unless the operator exempted the single endpoint
 * configured as `s3.endpoint` (`s3.allow_internal_endpoint`). Cloud metadata, link-local, multicast, unspecified
 * and reserved addresses are refused even then.
 *
 * Two checks use it: `checkEndpoint` when a request names an endpoint, and `pin` when an S3 client or FUSE mount is
 * built (resolve once, keep the addresses, connect only to the first permitted one; see pinned-agent.ts).
 */
import { lookup } from 'node:dns/promises';
import { BurrowError } from '@burrow/protocol';
import { parseEndpoint, type ParsedEndpoint } from './endpoint.js';
import { canonicalIp, classifyIp, type IpClass } from './ip.js';

/** Resolves a host name to IP addresses (every answer). Injected so tests can play DNS. */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

export interface SsrfPolicyOptions {
  /** `s3.allow_internal_endpoint`: the server endpoint may resolve to internal (loopback, private, ...) addresses. */
  allowInternalEndpoint: boolean;
  /** `s3.endpoint`; the only endpoint the exemption covers. */
  serverEndpoint?: string | undefined;
  resolver?: Resolver;
}

export interface CheckedEndpoint extends ParsedEndpoint {
  /** Every address the host resolved to, canonical, in resolver order. */
  addresses: string[];
}

export interface PinnedEndpoint extends CheckedEndpoint {
  /** The one address connections go to. */
  pinned: string;
}

const EXEMPTION_HINT =
  'use a public S3 endpoint, or configure this endpoint as s3.endpoint and set s3.allow_internal_endpoint=true';

function subject(endpoint: ParsedEndpoint, ipClass: IpClass): string {
  return endpoint.ip === undefined
    ? `${endpoint.host} resolves to ${ipClass.ip}, which`
    : `address ${ipClass.ip}`;
}

/** The first address that no exemption can allow, if any. */
export function firstNeverExempt(addresses: readonly string[]): IpClass | undefined {
  return addresses.map((address) => classifyIp(address)).find((ipClass) => ipClass.neverExempt);
}

/** Resolves a canonical host (IP literals resolve to themselves) into its canonical, de-duplicated address set. */
export async function resolvePinnedSet(host: string, resolver: Resolver): Promise<string[]> {
  const literal = canonicalIp(host);
  if (literal !== undefined) return [literal];
  let answers: string[];
  try {
    answers = await resolver(host);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new BurrowError(
      'S3_ERROR',
      `endpoint host ${host} could not be resolved${typeof code === 'string' ? ` (${code})` : ''}: check the endpoint's host name`,
    );
  }
  const addresses = [
    ...new Set(answers.map((answer) => canonicalIp(answer)).filter((a): a is string => a !== undefined)),
  ];
  if (addresses.length === 0)
    throw new BurrowError(
      'S3_ERROR',
      `endpoint host ${host} resolved to no addresses: check the endpoint's host name`,
    );
  return addresses;
}

export class SsrfPolicy {
  readonly allowInternalEndpoint: boolean;
  /** The parsed server endpoint, when one is configured. */
  readonly serverEndpoint: ParsedEndpoint | undefined;
  private readonly resolver: Resolver;

  constructor(options: SsrfPolicyOptions) {
    this.allowInternalEndpoint = options.allowInternalEndpoint;
    this.resolver = options.resolver ?? systemResolver;
    const configured = options.serverEndpoint ?? '';
    if (configured === '') {
      this.serverEndpoint = undefined;
      if (options.allowInternalEndpoint) {
        throw new BurrowError(
          'VALIDATION_FAILED',
          's3.allow_internal_endpoint=true requires s3.endpoint to carry an extractable host: set s3.endpoint (e.g. http://minio:9000) or turn the exemption off',
        );
      }
      return;
    }
    try {
      this.serverEndpoint = parseEndpoint(configured);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new BurrowError('VALIDATION_FAILED', `s3.endpoint is not usable: ${why}`);
    }
  }

  /**
   * Startup check of the server endpoint: it resolves, and none of its addresses is never-exemptable (an exemption
   * cannot cover cloud metadata or link-local). Internal addresses still need the exemption at use.
   */
  async checkServerEndpoint(): Promise<CheckedEndpoint | undefined> {
    if (this.serverEndpoint === undefined) return undefined;
    const addresses = await resolvePinnedSet(this.serverEndpoint.host, this.resolver);
    const forbidden = firstNeverExempt(addresses);
    if (forbidden !== undefined) throw this.neverAllowed(this.serverEndpoint, forbidden);
    return { ...this.serverEndpoint, addresses };
  }

  /**
   * Request-time check of a caller-supplied endpoint: the host (an IP literal, or EVERY address its name resolves to)
   * must be permitted. Throws VALIDATION_FAILED for a malformed endpoint and SSRF_BLOCKED for a refused address.
   */
  async checkEndpoint(endpoint: string): Promise<CheckedEndpoint> {
    const parsed = parseEndpoint(endpoint);
    let addresses: string[];
    try {
      addresses = await resolvePinnedSet(parsed.host, this.resolver);
    } catch (error) {
      if (error instanceof BurrowError) throw new BurrowError('VALIDATION_FAILED', error.message);
      throw error;
    }
    const forbidden = firstNeverExempt(addresses);
    if (forbidden !== undefined) throw this.neverAllowed(parsed, forbidden);
    const exempt = await this.exemptAddresses();
    for (const address of addresses) this.assertPermitted(parsed, classifyIp(address), exempt);
    return { ...parsed, addresses };
  }

  /** {@link checkEndpoint} for an optional request field: an absent or empty endpoint needs no check. */
  async checkRequestEndpoint(endpoint: string | undefined): Promise<CheckedEndpoint | undefined> {
    return endpoint === undefined || endpoint === '' ? undefined : this.checkEndpoint(endpoint);
  }

  /**
   * Dial-time pinning: resolve once and keep the whole set. Any never-exemptable address in the set is an error;
   * otherwise the first permitted address is the only one ever connected to. With `strict`, every answer must be
   * permitted (as for request-time checks).
   */
  async pin(endpoint: string, options: { strict?: boolean } = {}): Promise<PinnedEndpoint> {
    const parsed = parseEndpoint(endpoint);
    const addresses = await resolvePinnedSet(parsed.host, this.resolver);
    const forbidden = firstNeverExempt(addresses);
    if (forbidden !== undefined) throw this.neverAllowed(parsed, forbidden);
    const exempt = await this.exemptAddresses(parsed, addresses);
    let firstRefusal: BurrowError | undefined;
    let pinned: string | undefined;
    for (const address of addresses) {
      try {
        this.assertPermitted(parsed, classifyIp(address), exempt);
        pinned ??= address;
      } catch (error) {
        if (!(error instanceof BurrowError)) throw error;
        firstRefusal ??= error;
      }
    }
    if (pinned !== undefined && (options.strict !== true || firstRefusal === undefined))
      return { ...parsed, addresses, pinned };
    throw (
      firstRefusal ?? new BurrowError('SSRF_BLOCKED', `endpoint ${parsed.authority} has no permitted address`)
    );
  }

  /** Whether one address may be connected to on the server endpoint's port (exemption semantics without a URL). */
  async permits(address: string): Promise<boolean> {
    const ipClass = classifyIp(address);
    if (!ipClass.blocked) return true;
    if (ipClass.neverExempt || !this.allowInternalEndpoint) return false;
    return (await this.exemptAddresses()).has(ipClass.ip);
  }

  /** Addresses the exemption covers: the server endpoint's resolved set, or nothing when the exemption is off. */
  private async exemptAddresses(
    candidate?: ParsedEndpoint,
    candidateAddresses?: string[],
  ): Promise<ReadonlySet<string>> {
    if (!this.allowInternalEndpoint || this.serverEndpoint === undefined) return new Set();
    if (
      candidate !== undefined &&
      candidateAddresses !== undefined &&
      candidate.host === this.serverEndpoint.host
    ) {
      return new Set(candidateAddresses);
    }
    return new Set(await resolvePinnedSet(this.serverEndpoint.host, this.resolver));
  }

  private assertPermitted(endpoint: ParsedEndpoint, ipClass: IpClass, exempt: ReadonlySet<string>): void {
    if (!ipClass.blocked) return;
    if (ipClass.neverExempt) throw this.neverAllowed(endpoint, ipClass);
    const what = `endpoint ${endpoint.authority} is refused: ${subject(endpoint, ipClass)} is internal (${ipClass.description})`;
    if (!this.allowInternalEndpoint) throw new BurrowError('SSRF_BLOCKED', `${what}: ${EXEMPTION_HINT}`);
    // The exemption is scoped to the configured endpoint's addresses AND port, so it cannot reach other services.
    if (!exempt.has(ipClass.ip) || endpoint.port !== this.serverEndpoint?.port) {
      throw new BurrowError(
        'SSRF_BLOCKED',
        `${what} and not the server's s3.endpoint; the s3.allow_internal_endpoint exemption covers only the addresses and port of s3.endpoint: use that endpoint or a public one`,
      );
    }
  }

  private neverAllowed(endpoint: ParsedEndpoint, ipClass: IpClass): BurrowError {
    return new BurrowError(
      'SSRF_BLOCKED',
      `endpoint ${endpoint.authority} is refused: ${subject(endpoint, ipClass)} is in the ${ipClass.description}, which is never allowed (not even with s3.allow_internal_endpoint): use a different S3 endpoint`,
    );
  }
}
