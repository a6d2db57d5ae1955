/**
 * The managed networks behind `internal` and `bridge` mode: created on first use, labelled, inter-container traffic
 * off; a bridge network also gets its firewall rules (bridge-firewall.ts), installed with it and removed with it.
 *
 * A Linux bridge takes at most 1024 ports, so one network cannot hold more sandboxes than that (the next start fails
 * with "exchange full"). Each mode is therefore a series of networks, `<prefix>-<mode>`, then `<prefix>-<mode>-1`,
 * `-2`, ...: a sandbox joins the first one with room ({@link SANDBOXES_PER_NETWORK}). They are alike, and sandboxes
 * on different ones are as separate as on one (Docker drops traffic between its bridges).
 */
import type Dockerode from 'dockerode';
import type { BridgeFirewall } from './bridge-firewall.js';
import type { NetworkMode } from '../runtime.js';
import { isBurrowError } from '@burrow/protocol';
import { dockerStatus, fromDockerError } from './docker-errors.js';
import { LABEL } from './labels.js';

/**
 * Sandboxes a managed network is given, below the bridge's 1024 ports: the rest is room for creates in flight, which
 * a network's own count does not show until they start.
 */
export const SANDBOXES_PER_NETWORK = 960;

/** A network that looks full is counted again from Docker at most this often (its count may have drifted). */
const RECOUNT_MS = 30_000;

export class ManagedNetworks {
  private readonly ready = new Map<string, Promise<void>>();
  /** Per network: sandboxes on it when last counted, plus those given it since, less those removed. */
  private readonly assigned = new Map<string, number>();
  /** When each network was last counted from Docker. */
  private readonly countedAt = new Map<string, number>();
  private readonly own: RegExp;

  constructor(
    private readonly docker: Dockerode,
    private readonly prefix: string,
    private readonly firewall?: BridgeFirewall,
    private readonly perNetwork = SANDBOXES_PER_NETWORK,
  ) {
    const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.own = new RegExp(`^${escaped}-(internal|bridge)(-[1-9][0-9]*)?$`);
  }

  private owns(name: string): boolean {
    return this.own.test(name);
  }

  /** The `index`th network of a mode (the first keeps the plain name). */
  private shard(mode: Exclude<NetworkMode, 'none'>, index: number): string {
    return index === 0 ? this.nameFor(mode) : `${this.nameFor(mode)}-${index}`;
  }

  /** How many containers a network holds now (0 when it does not exist yet). */
  private async count(name: string): Promise<number> {
    try {
      const details = (await this.docker.getNetwork(name).inspect()) as {
        Containers?: Record<string, unknown>;
      };
      return Object.keys(details.Containers ?? {}).length;
    } catch (error) {
      if (dockerStatus(error) === 404) return 0;
      throw fromDockerError(error, `inspecting network ${name}`);
    }
  }

  /**
   * The network a new sandbox of this mode joins: the first with room. A network's count is read from Docker when it
   * is first used, then kept by counting (creates here, {@link released} on removal); one that looks full is read
   * again now and then, for sandboxes that went some other way.
   */
  async pick(mode: Exclude<NetworkMode, 'none'>): Promise<string> {
    for (let index = 0; ; index += 1) {
      const name = this.shard(mode, index);
      let used = this.assigned.get(name);
      const stale = Date.now() - (this.countedAt.get(name) ?? 0) > RECOUNT_MS;
      if (used === undefined || (used >= this.perNetwork && stale)) {
        used = await this.count(name);
        this.assigned.set(name, used);
        this.countedAt.set(name, Date.now());
      }
      if (used < this.perNetwork) {
        this.assigned.set(name, used + 1);
        return name;
      }
    }
  }

  /** A sandbox on `name` was removed: room for another. */
  released(name: string): void {
    const used = this.assigned.get(name);
    if (used !== undefined && used > 0) this.assigned.set(name, used - 1);
  }

  /** The bridge interface of a network (Docker names it `br-<id>` unless the network says otherwise). */
  private async bridgeOf(name: string): Promise<string> {
    const details = (await this.docker.getNetwork(name).inspect()) as {
      Id: string;
      Options?: Record<string, string>;
    };
    return details.Options?.['com.docker.network.bridge.name'] ?? `br-${details.Id.slice(0, 12)}`;
  }

  private async filter(name: string, mode: Exclude<NetworkMode, 'none'>): Promise<void> {
    if (mode !== 'bridge' || this.firewall === undefined) return;
    await this.firewall.install({ name, bridge: await this.bridgeOf(name) });
  }

  /**
   * At start: refreshes the rules of this installation's bridge network when it exists (the allowed ranges may have
   * changed) and removes the rules of its networks that are gone.
   */
  async reconcileFirewall(): Promise<void> {
    if (this.firewall === undefined) return;
    const bridges = new Set(
      (await this.ownNetworks())
        .map((network) => network.Name)
        .filter((name) => this.own.exec(name)?.[1] === 'bridge'),
    );
    await this.firewall.remove((name) => this.owns(name) && !bridges.has(name));
    for (const bridge of bridges) await this.ensure(bridge, 'bridge');
  }

  /** This installation's managed networks that exist. */
  private async ownNetworks(): Promise<{ Id: string; Name: string }[]> {
    const networks = await this.docker.listNetworks({ filters: { label: [`${LABEL.managed}=true`] } });
    return networks.filter((network) => this.owns(network.Name));
  }

  /** The default network name for a mode. */
  nameFor(mode: Exclude<NetworkMode, 'none'>): string {
    return `${this.prefix}-${mode}`;
  }

  ensure(name: string, mode: Exclude<NetworkMode, 'none'>): Promise<void> {
    let pending = this.ready.get(name);
    if (pending === undefined) {
      pending = this.create(name, mode);
      this.ready.set(name, pending);
      pending.catch(() => this.ready.delete(name));
    }
    return pending;
  }

  /** Forgets that a network was ready (it was removed behind this process's back) and makes sure it exists. */
  recreate(name: string, mode: Exclude<NetworkMode, 'none'>): Promise<void> {
    this.ready.delete(name);
    return this.ensure(name, mode);
  }

  private async create(name: string, mode: Exclude<NetworkMode, 'none'>): Promise<void> {
    try {
      await this.docker.getNetwork(name).inspect();
      await this.filter(name, mode);
      return;
    } catch (error) {
      if (isBurrowError(error)) throw error;
      if (dockerStatus(error) !== 404) throw fromDockerError(error, `inspecting network ${name}`);
    }
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        Internal: mode === 'internal',
        EnableIPv6: false,
        CheckDuplicate: true,
        Options: { 'com.docker.network.bridge.enable_icc': 'false' },
        Labels: { [LABEL.managed]: 'true', [LABEL.networkMode]: mode },
      });
    } catch (error) {
      // Another process created it first.
      if (dockerStatus(error) !== 409) throw fromDockerError(error, `creating network ${name}`);
    }
    await this.filter(name, mode);
  }

  /**
   * Removes this installation's managed networks (those named with its prefix) that no container uses; they are
   * recreated on demand. Networks of other installations on the same engine are never touched.
   */
  async prune(): Promise<void> {
    for (const network of await this.ownNetworks()) {
      const details = (await this.docker.getNetwork(network.Id).inspect()) as {
        Containers?: Record<string, unknown>;
      };
      if (Object.keys(details.Containers ?? {}).length > 0) continue;
      this.ready.delete(network.Name);
      this.assigned.delete(network.Name);
      this.countedAt.delete(network.Name);
      await this.docker
        .getNetwork(network.Id)
        .remove()
        .catch(() => undefined);
      await this.firewall?.remove((name) => name === network.Name);
    }
  }
}
