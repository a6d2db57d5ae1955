/** The bridge firewall's commands, against a recorded iptables (the docker tier checks the real kernel). */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../logger.js';
import { BridgeFirewall, chainNames, type Runner } from './bridge-firewall.js';

/** An iptables that keeps rules per family in memory and answers -C, -S, -N, -F, -X, -I, -A, -D like the real one. */
function fakeIptables(hasDockerUser = true) {
  const calls: string[] = [];
  const rules: Record<string, string[]> = { iptables: [], ip6tables: [] };
  const chains: Record<string, Set<string>> = {
    iptables: new Set(['INPUT', 'FORWARD', ...(hasDockerUser ? ['DOCKER-USER'] : [])]),
    ip6tables: new Set(['INPUT', 'FORWARD']),
  };
  const run: Runner = (command, args) => {
    calls.push(`${command} ${args.join(' ')}`);
    const own = rules[command] ?? [];
    const known = chains[command] ?? new Set();
    const [op, chain = '', ...rest] = args;
    const ok = { code: 0, stdout: '', stderr: '' };
    const fail = { code: 1, stdout: '', stderr: 'No chain/target/match by that name.' };
    const quoted = rest.map((word) => (word.startsWith('burrow:') ? `"${word}"` : word)).join(' ');
    const line = `-A ${chain} ${quoted}`;
    switch (op) {
      case '-S':
        if (chain === '') return Promise.resolve({ ...ok, stdout: own.join('\n') });
        return Promise.resolve(known.has(chain) ? ok : fail);
      case '-N':
        if (known.has(chain)) return Promise.resolve(fail);
        known.add(chain);
        return Promise.resolve(ok);
      case '-F':
        rules[command] = own.filter((rule) => !rule.startsWith(`-A ${chain} `));
        return Promise.resolve(ok);
      case '-X':
        known.delete(chain);
        return Promise.resolve(ok);
      case '-A':
        own.push(line);
        return Promise.resolve(ok);
      case '-I':
        own.unshift(
          `-A ${chain} ${rest
            .slice(1)
            .map((w) => (w.startsWith('burrow:') ? `"${w}"` : w))
            .join(' ')}`,
        );
        return Promise.resolve(ok);
      case '-C':
        return Promise.resolve(own.includes(line) ? ok : fail);
      case '-D':
        rules[command] = own.filter((rule) => rule !== line);
        return Promise.resolve(ok);
      default:
        return Promise.resolve(fail);
    }
  };
  return { run, calls, rules };
}

describe('the bridge firewall', () => {
  it('installs chains that reject metadata and internal ranges, idempotently, and removes them', async () => {
    const iptables = fakeIptables();
    const firewall = new BridgeFirewall({
      allowRanges: ['10.9.0.0/16'],
      run: iptables.run,
      logger: silentLogger,
    });
    const network = { name: 'burrow-bridge', bridge: 'br-0123456789ab' };
    await firewall.install(network);
    await firewall.install(network);
    const { forward, input } = chainNames('burrow-bridge');
    const v4 = iptables.rules.iptables ?? [];
    expect(v4.filter((rule) => rule.includes('-j BURROW-'))).toEqual([
      `-A INPUT -i br-0123456789ab -m comment --comment "burrow:burrow-bridge" -j ${input}`,
      `-A DOCKER-USER -i br-0123456789ab -m comment --comment "burrow:burrow-bridge" -j ${forward}`,
    ]);
    const forwardRules = v4.filter((rule) => rule.startsWith(`-A ${forward} `));
    expect(forwardRules[0]).toContain('-d 169.254.169.254/32 -j REJECT');
    const allowAt = forwardRules.findIndex((rule) => rule.includes('-d 10.9.0.0/16 -j RETURN'));
    const privateAt = forwardRules.findIndex((rule) => rule.includes('-d 10.0.0.0/8 -j REJECT'));
    const linkLocalAt = forwardRules.findIndex((rule) => rule.includes('-d 169.254.0.0/16 -j REJECT'));
    const dnsAt = forwardRules.findIndex((rule) =>
      rule.includes('-d 10.255.255.53 -p udp --dport 53 -j RETURN'),
    );
    expect(linkLocalAt).toBeLessThan(dnsAt);
    expect(dnsAt).toBeLessThan(privateAt);
    expect(linkLocalAt).toBeLessThan(allowAt);
    expect(allowAt).toBeLessThan(privateAt);
    expect(v4.filter((rule) => rule.startsWith(`-A ${input} `)).at(-1)).toBe(
      `-A ${input} -j REJECT --reject-with icmp-admin-prohibited`,
    );
    // Without DOCKER-USER in ip6tables, forwarded traffic is hooked in FORWARD.
    expect(
      iptables.rules.ip6tables?.some((rule) => rule.startsWith('-A FORWARD ') && rule.includes(forward)),
    ).toBe(true);
    expect(iptables.rules.ip6tables?.some((rule) => rule.includes('fd00:ec2::254/128 -j REJECT'))).toBe(true);

    await firewall.remove((name) => name === 'burrow-other');
    expect(v4.length).toBeGreaterThan(0);
    await firewall.remove((name) => name === 'burrow-bridge');
    expect(iptables.rules.iptables).toEqual([]);
    expect(iptables.rules.ip6tables).toEqual([]);
  });

  it('fails closed with a message naming the way out when iptables cannot be run', async () => {
    const firewall = new BridgeFirewall({
      allowRanges: [],
      dnsServers: () => [],
      run: () => Promise.resolve({ code: 4, stdout: '', stderr: 'Permission denied (you must be root)' }),
      logger: silentLogger,
    });
    await expect(firewall.install({ name: 'n', bridge: 'br-x' })).rejects.toMatchObject({
      code: 'RUNTIME_UNAVAILABLE',
      message: expect.stringMatching(/network\.bridge_firewall=false/),
    });
  });
});
