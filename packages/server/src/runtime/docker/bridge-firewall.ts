/**
 * Filtering of Burrow's bridge networks (bridge mode without an egress policy): sandboxes reach the internet, but
 * not the cloud metadata address (169.254.169.254, fd00:ec2::254), nor, unless the operator allows a range
 * (`network.allow_private`), link-local, private, CGNAT or loopback ranges, nor the host's own addresses. Each
 * network gets two chains of its own (`BURROW-F-<hash>` for forwarded traffic, jumped to from DOCKER-USER, and
 * `BURROW-I-<hash>` for traffic to the host, jumped to from INPUT), both jumps commented `burrow:<network name>`,
 * so a restart finds and reconciles them. Refused connections fail at once (REJECT), never hang. Installing and
 * removing are idempotent; the rules are rebuilt whole each time. The host's DNS servers stay reachable on port 53
 * (Docker's embedded resolver forwards from the sandbox's namespace), so names resolve and the Debian mirror works.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { BurrowError } from '@burrow/protocol';
import type { Logger } from '../../logger.js';

export type Family = 'ipv4' | 'ipv6';
export type Runner = (
  command: string,
  args: string[],
) => Promise<{ code: number; stdout: string; stderr: string }>;

const METADATA: Record<Family, string[]> = {
  ipv4: ['169.254.169.254/32', '169.254.169.253/32', '100.100.100.200/32'],
  ipv6: ['fd00:ec2::254/128'],
};
/** Refused even when the operator allows internal ranges. */
const NEVER: Record<Family, string[]> = {
  ipv4: ['169.254.0.0/16', '0.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4'],
  ipv6: ['fe80::/10', 'ff00::/8'],
};
const INTERNAL: Record<Family, string[]> = {
  ipv4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '198.18.0.0/15'],
  ipv6: ['fc00::/7', 'fec0::/10', '::1/128', '64:ff9b::/96'],
};
const TOOL: Record<Family, string> = { ipv4: 'iptables', ipv6: 'ip6tables' };
const REJECT: Record<Family, string[]> = {
  ipv4: ['-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited'],
  ipv6: ['-j', 'REJECT', '--reject-with', 'icmp6-adm-prohibited'],
};

export interface BridgeNetwork {
  name: string;
  /** The Linux bridge interface (`br-<id>` unless the network names one). */
  bridge: string;
}

export interface BridgeFirewallOptions {
  /** CIDRs the operator lets sandboxes reach although they are internal. */
  allowRanges: readonly string[];
  /**
   * The DNS servers Docker's embedded resolver forwards to (from the sandbox's own namespace, so through these
   * rules): their port 53 stays reachable, or no name would resolve. Default: the host's resolv.conf.
   */
  dnsServers?: () => string[];
  run?: Runner;
  logger: Logger;
}

/** Nameservers of the host's resolver configuration (systemd-resolved's upstream list when it is in use). */
export function hostDnsServers(): string[] {
  const servers = new Set<string>();
  for (const file of ['/etc/resolv.conf', '/run/systemd/resolve/resolv.conf']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const match of text.matchAll(/^\s*nameserver\s+([0-9a-fA-F:.]+)\s*$/gm)) {
      const address = match[1] ?? '';
      if (isIP(address) !== 0 && !address.startsWith('127.') && address !== '::1') servers.add(address);
    }
  }
  return [...servers];
}

export const systemRunner: Runner = (command, args) =>
  new Promise((resolve) => {
    execFile(command, ['-w', '5', ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 127;
      resolve({ code, stdout, stderr: stderr || (error?.message ?? '') });
    });
  });

function familyOf(cidr: string): Family {
  return cidr.includes(':') ? 'ipv6' : 'ipv4';
}

export function chainNames(network: string): { forward: string; input: string } {
  const hash = createHash('sha256').update(network).digest('hex').slice(0, 10);
  return { forward: `BURROW-F-${hash}`, input: `BURROW-I-${hash}` };
}

export function comment(network: string): string {
  return `burrow:${network}`;
}

export class BridgeFirewall {
  private readonly run: Runner;

  constructor(private readonly options: BridgeFirewallOptions) {
    this.run = options.run ?? systemRunner;
  }

  private async tool(
    family: Family,
    args: string[],
    allowFailure = false,
  ): Promise<{ code: number; stdout: string }> {
    const result = await this.run(TOOL[family], args);
    if (result.code !== 0 && !allowFailure) {
      throw new BurrowError(
        'RUNTIME_UNAVAILABLE',
        `could not filter the bridge network (${TOOL[family]} ${args.join(' ')}: ${result.stderr.trim().slice(0, 300)}): ` +
          'run Burrow as root on a host with iptables, or set network.bridge_firewall=false to accept unfiltered bridge egress',
      );
    }
    return result;
  }

  /** The chain jumped to from forwarded traffic: DOCKER-USER where Docker made it, FORWARD otherwise. */
  private async forwardHook(family: Family): Promise<string> {
    const probe = await this.tool(family, ['-S', 'DOCKER-USER'], true);
    return probe.code === 0 ? 'DOCKER-USER' : 'FORWARD';
  }

  private rules(family: Family, kind: 'forward' | 'input'): string[][] {
    const allowed = this.options.allowRanges.filter((range) => familyOf(range) === family);
    const reject = (cidr: string) => ['-d', cidr, ...REJECT[family]];
    const out: string[][] = [];
    if (kind === 'input') out.push(['-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'RETURN']);
    for (const cidr of [...METADATA[family], ...NEVER[family]]) out.push(reject(cidr));
    for (const server of (this.options.dnsServers ?? hostDnsServers)()) {
      if (familyOf(server) !== family) continue;
      for (const protocol of ['udp', 'tcp'])
        out.push(['-d', server, '-p', protocol, '--dport', '53', '-j', 'RETURN']);
    }
    for (const cidr of allowed) out.push(['-d', cidr, '-j', 'RETURN']);
    if (kind === 'input') out.push(REJECT[family]);
    else for (const cidr of INTERNAL[family]) out.push(reject(cidr));
    return out;
  }

  private async installFamily(family: Family, network: BridgeNetwork): Promise<void> {
    const chains = chainNames(network.name);
    const hooks: [string, string][] = [
      [await this.forwardHook(family), chains.forward],
      ['INPUT', chains.input],
    ];
    for (const [hook, chain] of hooks) {
      await this.tool(family, ['-N', chain], true);
      await this.tool(family, ['-F', chain]);
      for (const rule of this.rules(family, chain === chains.input ? 'input' : 'forward')) {
        await this.tool(family, ['-A', chain, ...rule]);
      }
      const jump = ['-i', network.bridge, '-m', 'comment', '--comment', comment(network.name), '-j', chain];
      const present = await this.tool(family, ['-C', hook, ...jump], true);
      if (present.code !== 0) await this.tool(family, ['-I', hook, '1', ...jump]);
    }
  }

  /** Installs (or refreshes) the rules of a bridge network; IPv6 rules where the host has ip6tables. */
  async install(network: BridgeNetwork): Promise<void> {
    await this.installFamily('ipv4', network);
    try {
      await this.installFamily('ipv6', network);
    } catch (error) {
      // Burrow's networks have IPv6 off, so IPv4 rules are what matters; the IPv6 ones are defence in depth.
      this.options.logger.warn({ err: error, network: network.name }, 'no IPv6 rules for the bridge network');
    }
  }

  /** Removes every rule and chain of `networks` (or, without a list, of every network matching `owned`). */
  async remove(owned: (network: string) => boolean): Promise<void> {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const listing = await this.tool(family, ['-S'], true);
      if (listing.code !== 0) continue;
      for (const line of listing.stdout.split('\n')) {
        const match = /^-A (\S+) (.*--comment "?burrow:([^"\s]+)"?.*-j (BURROW-[FI]-[0-9a-f]{10}))\s*$/.exec(
          line,
        );
        if (match === null || !owned(match[3] ?? '')) continue;
        const spec = (match[2] ?? '').replace(/"/g, '').split(/\s+/);
        await this.tool(family, ['-D', match[1] ?? '', ...spec], true);
        await this.tool(family, ['-F', match[4] ?? ''], true);
        await this.tool(family, ['-X', match[4] ?? ''], true);
      }
    }
  }
}
