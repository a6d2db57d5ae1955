/**
 * Isolation runtimes on Docker: `runc` (Docker's default) and `gvisor` (Debian's runsc, registered in dockerd's
 * daemon.json by scripts/setup-host.sh). runsc's own network stack refuses to start here (it finds itself in the
 * root network namespace), so gVisor sandboxes run with two registrations:
 * - `runsc` (`--network=none --host-uds=open`) for network_mode none: no network stack beyond loopback;
 * - `runsc-net` (`--network=host --host-uds=open`) for internal and bridge: gVisor passes the container's own
 *   network namespace (its veth on Burrow's managed network) through to the host kernel's stack.
 * `--host-uds=open` lets the agent inside connect out to its channel socket on the host.
 */
import type Dockerode from 'dockerode';
import { checkIsolation } from '../isolation-check.js';
import { NETWORK_MODES, type IsolationSupport, type NetworkMode, type SandboxConfig } from '../runtime.js';

export interface GvisorRuntimes {
  /** Docker's name of runsc for network_mode none. */
  none: string;
  /** Docker's name of runsc for the internal and bridge modes. */
  network: string;
}

export const DEFAULT_GVISOR_RUNTIMES: GvisorRuntimes = { none: 'runsc', network: 'runsc-net' };

/** How long the engine's list of registered runtimes is trusted (dockerd reloads daemon.json on SIGHUP). */
const CACHE_MS = 10_000;

export class Isolations {
  private cached: { at: number; support: Promise<IsolationSupport[]> } | undefined;

  constructor(
    private readonly docker: Dockerode,
    private readonly gvisor: GvisorRuntimes = DEFAULT_GVISOR_RUNTIMES,
  ) {}

  support(): Promise<IsolationSupport[]> {
    if (this.cached === undefined || Date.now() - this.cached.at > CACHE_MS) {
      const support = this.read().catch((error: unknown) => {
        this.cached = undefined;
        throw error;
      });
      this.cached = { at: Date.now(), support };
    }
    return this.cached.support;
  }

  private async read(): Promise<IsolationSupport[]> {
    const info = (await this.docker.info()) as { Runtimes?: Record<string, unknown> };
    const registered = new Set(Object.keys(info.Runtimes ?? {}));
    const support: IsolationSupport[] = [{ runtime: 'runc', networkModes: [...NETWORK_MODES] }];
    const gvisorModes: NetworkMode[] = [];
    if (registered.has(this.gvisor.none)) gvisorModes.push('none');
    if (registered.has(this.gvisor.network)) gvisorModes.push('internal', 'bridge');
    if (gvisorModes.length > 0) support.push({ runtime: 'gvisor', networkModes: gvisorModes });
    return support;
  }

  /** Whether a container's OCI runtime (HostConfig.Runtime) is one of the gVisor registrations. */
  isGvisor(ociRuntime: string | undefined): boolean {
    return ociRuntime === this.gvisor.none || ociRuntime === this.gvisor.network;
  }

  /** Docker's OCI runtime for a sandbox (undefined: Docker's default, runc); refuses what is not registered. */
  async ociRuntime(config: SandboxConfig): Promise<string | undefined> {
    const wanted = config.runtime ?? 'runc';
    if (wanted === 'runc') return undefined;
    const mode = config.networkMode ?? 'internal';
    await checkIsolation(wanted, mode, await this.support());
    return mode === 'none' ? this.gvisor.none : this.gvisor.network;
  }
}
