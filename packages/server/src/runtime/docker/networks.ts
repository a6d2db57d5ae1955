/**
 * The managed networks behind `internal` and `bridge` mode: created on first use, labelled, inter-container traffic
 * off; a bridge network also gets its firewall rules (bridge-firewall.ts), installed with it and removed with it.
 */
import type Dockerode from 'dockerode';
import type { BridgeFirewall } from './bridge-firewall.js';
import type { NetworkMode } from '../runtime.js';
import { isBurrowError } from '@burrow/protocol';
import { dockerStatus, fromDockerError } from './docker-errors.js';
import { LABEL } from './labels.js';

export class ManagedNetworks {
  private readonly ready = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Dockerode,
    private readonly prefix: string,
    private readonly firewall?: BridgeFirewall,
  ) {}

  private owns(name: string): boolean {
    return name === this.nameFor('internal') || name === this.nameFor('bridge');
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
    const bridge = this.nameFor('bridge');
    const exists = await this.docker
      .getNetwork(bridge)
      .inspect()
      .then(
        () => true,
        () => false,
      );
    await this.firewall.remove((name) => this.owns(name) && !(exists && name === bridge));
    if (exists) await this.ensure(bridge, 'bridge');
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
    const own = new Set([this.nameFor('internal'), this.nameFor('bridge')]);
    const networks = await this.docker.listNetworks({ filters: { label: [`${LABEL.managed}=true`] } });
    for (const network of networks.filter((candidate) => own.has(candidate.Name))) {
      const details = (await this.docker.getNetwork(network.Id).inspect()) as {
        Containers?: Record<string, unknown>;
      };
      if (Object.keys(details.Containers ?? {}).length > 0) continue;
      this.ready.delete(network.Name);
      await this.docker
        .getNetwork(network.Id)
        .remove()
        .catch(() => undefined);
      await this.firewall?.remove((name) => name === network.Name);
    }
  }
}
