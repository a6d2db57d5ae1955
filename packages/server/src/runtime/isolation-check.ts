/** The one check of a sandbox's isolation runtime against what a backend can run (every backend uses it). */
import { BurrowError } from '@burrow/protocol';
import type { IsolationSupport, NetworkMode } from './runtime.js';

/** Refuses (400) an isolation runtime the backend does not have, or a network mode it cannot give with it. */
export function checkIsolation(wanted: string, mode: NetworkMode, support: IsolationSupport[]): void {
  const available = support.map((entry) => entry.runtime);
  const entry = support.find((candidate) => candidate.runtime === wanted);
  if (entry === undefined) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `runtime "${wanted}" is not available on this server: available: ${available.join(', ')}` +
        (wanted === 'gvisor' ? " (install Debian's runsc and run scripts/setup-host.sh to register it)" : ''),
      { field: 'runtime' },
    );
  }
  if (!entry.networkModes.includes(mode)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `network_mode "${mode}" is not available with runtime "${wanted}" on this server: it offers ${entry.networkModes.join(', ')}`,
      { field: 'network_mode' },
    );
  }
}
