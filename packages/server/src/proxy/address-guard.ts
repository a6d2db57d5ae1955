/**
 * Address ranges no sandbox reaches through the egress proxy, whatever its policy says: cloud metadata, link-local,
 * multicast, unspecified and reserved addresses always; loopback, private, unique-local and CGNAT ranges and this
 * host's own addresses unless the operator allows a range (`network.allow_private`). Names are resolved on the host
 * and every address is checked here before a connection is made to it, so DNS cannot steer around the policy.
 */
import { networkInterfaces } from 'node:os';
import { classifyIp } from '../storage/s3/index.js';
import { inCidr, type Cidr, type Verdict } from './egress-policy.js';

export interface AddressGuardOptions {
  /** Ranges the operator lets sandboxes reach although they are internal (never metadata or link-local). */
  allowRanges: readonly Cidr[];
  /** This host's own addresses (default: every interface's). */
  localAddresses?: () => string[];
}

export function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .map((entry) => entry?.address)
    .filter((address): address is string => address !== undefined);
}

export class AddressGuard {
  private readonly allowRanges: readonly Cidr[];
  private readonly localAddresses: () => string[];
  private local: { at: number; addresses: Set<string> } | undefined;

  constructor(options: AddressGuardOptions) {
    this.allowRanges = options.allowRanges;
    this.localAddresses = options.localAddresses ?? hostAddresses;
  }

  private isLocal(address: string): boolean {
    // Interfaces change rarely; a second-old view is fine and keeps the check cheap per connection.
    const now = Date.now();
    if (this.local === undefined || now - this.local.at > 1000) {
      this.local = { at: now, addresses: new Set(this.localAddresses().map((a) => classifyIp(a).ip)) };
    }
    return this.local.addresses.has(address);
  }

  check(address: string): Verdict {
    const ipClass = classifyIp(address);
    const allowed = this.allowRanges.some((range) => inCidr(ipClass.ip, range));
    if (ipClass.neverExempt) {
      return {
        allowed: false,
        reason: `${ipClass.ip} is in the ${ipClass.description}, which no sandbox may reach`,
      };
    }
    if (allowed) return { allowed: true };
    if (ipClass.blocked) {
      return {
        allowed: false,
        reason: `${ipClass.ip} is in the ${ipClass.description}; the operator allows internal ranges with network.allow_private`,
      };
    }
    if (this.isLocal(ipClass.ip)) {
      return {
        allowed: false,
        reason: `${ipClass.ip} is an address of the Burrow host itself; the operator allows it with network.allow_private`,
      };
    }
    return { allowed: true };
  }
}
