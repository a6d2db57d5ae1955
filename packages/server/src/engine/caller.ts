/**
 * Who is calling: established once per request by the API's authentication and carried with the request's
 * asynchronous work (an `AsyncLocalStorage`), so every engine call made on its behalf (any route, any WebSocket,
 * any route added later) sees the same caller without passing it along. The engine's sandbox lookup consults it:
 * a sandbox of another tenant is not found.
 *
 * Work outside a request runs as {@link SYSTEM_CALLER} (an admin): the reaper, the warm pool, boot reconcile, the
 * status watcher and shutdown. A front end with its own authentication (the E2B endpoint) runs each call inside
 * `run()` with the caller its key stands for.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

export interface Caller {
  /** A stored key's id, `config:<digest prefix>` for a key of the config file, `system` or `anonymous`. */
  keyId: string;
  /** The key's name, as the audit log shows it. */
  keyName: string;
  /** The tenant its sandboxes belong to; '' = none (sandboxes only admin keys see). */
  tenant: string;
  /** Sees and manages every tenant's sandboxes, keys and the audit log. */
  admin: boolean;
  /** Where the request came from (the client address), when it came over the network. */
  address?: string;
}

/** The server itself (timers, start-up, shutdown). */
export const SYSTEM_CALLER: Caller = Object.freeze({
  keyId: 'system',
  keyName: 'system',
  tenant: '',
  admin: true,
});

/** Everyone, when authentication is off: the API is open, so every caller is an admin. */
export const ANONYMOUS_CALLER: Caller = Object.freeze({
  keyId: 'anonymous',
  keyName: 'anonymous',
  tenant: '',
  admin: true,
});

/** Whether `caller` may see something that belongs to `tenant` ('' = to no tenant: admins only). */
export function canSee(caller: Caller, tenant: string | undefined): boolean {
  if (caller.admin) return true;
  return caller.tenant !== '' && caller.tenant === (tenant ?? '');
}

export class CallerContext {
  private readonly storage = new AsyncLocalStorage<Caller>();

  /** Runs `work` (and everything it starts) as `caller`. */
  run<T>(caller: Caller, work: () => T): T {
    return this.storage.run(caller, work);
  }

  /** The caller of the work in progress; the system outside any request. */
  current(): Caller {
    return this.storage.getStore() ?? SYSTEM_CALLER;
  }

  /**
   * Makes every event `emitter` emits from now on run as `caller`. Events of an object made before the request
   * (a WebSocket's messages come from its connection's socket) would otherwise run outside the request's context,
   * that is as the system.
   */
  bindEmitter(emitter: EventEmitter, caller: Caller): void {
    const emit = emitter.emit.bind(emitter);
    emitter.emit = (event: string | symbol, ...args: unknown[]) =>
      this.run(caller, () => emit(event, ...args));
  }
}
