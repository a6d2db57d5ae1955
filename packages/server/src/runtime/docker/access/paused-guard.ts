/**
 * Refuses in-sandbox calls on a sandbox this runtime paused. A frozen agent accepts a connection on its socket but
 * never answers, so without this check a call would hang until its deadline; Docker's own exec refuses a paused
 * container, and this gives every path the same prompt SANDBOX_NOT_RUNNING. Every call of the access path that
 * reaches inside (exec, files, archives, processes, watches: any method but the lifecycle hooks) is guarded, so a
 * method added to SandboxAccess later is guarded too.
 */
import { BurrowError } from '@burrow/protocol';
import type { TmpfsArchiver } from '../snapshots.js';
import type { SandboxAccess } from './sandbox-access.js';

/** Host-side steps around a container's lifetime: they never talk to the agent. */
const LIFECYCLE = new Set<PropertyKey>(['prepare', 'checkCreated', 'ready', 'release']);

function refusal(id: string): BurrowError {
  return new BurrowError('SANDBOX_NOT_RUNNING', `sandbox ${id} is paused: resume it first`);
}

export function guardPaused(access: SandboxAccess, paused: ReadonlySet<string>): SandboxAccess {
  return new Proxy(access, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || LIFECYCLE.has(property)) return value;
      const method = value as (id: string, ...args: unknown[]) => unknown;
      if (property === 'archiver') {
        return (id: string): TmpfsArchiver => {
          const archiver = method.call(target, id) as TmpfsArchiver;
          return {
            archive: (path) => (paused.has(id) ? Promise.reject(refusal(id)) : archiver.archive(path)),
            unpack: (path, archive) =>
              paused.has(id) ? Promise.reject(refusal(id)) : archiver.unpack(path, archive),
          };
        };
      }
      return (id: string, ...args: unknown[]) =>
        paused.has(id) ? Promise.reject(refusal(id)) : method.call(target, id, ...args);
    },
  });
}
