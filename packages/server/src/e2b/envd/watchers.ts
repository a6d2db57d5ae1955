/**
 * envd's polling watchers (CreateWatcher / GetWatcherEvents / RemoveWatcher): a watch kept on the server whose
 * events wait in a bounded queue until the client collects them. A watcher ends with its sandbox, when removed,
 * or when the endpoint closes; a client that forgets one is bounded by the per-sandbox limit.
 */
import { randomBytes } from 'node:crypto';
import { BurrowError } from '@burrow/protocol';
import type { WatchEvent, WatchStream } from '../../runtime/runtime.js';

export const MAX_WATCHERS_PER_SANDBOX = 32;
export const MAX_QUEUED_EVENTS = 10_000;

interface Watcher {
  sandboxId: string;
  /** The watched directory (event paths are reported relative to it). */
  root: string;
  stream: WatchStream;
  queue: WatchEvent[];
  /** Events did not fit the queue (or the kernel's): the client is told by an error on its next poll. */
  overflowed: boolean;
  /** Why the watch ended on its own (the sandbox stopped, ...), and when. */
  ended?: string;
  endedAt?: number;
}

/** An ended watcher nobody polls is dropped after this long (its sandbox is usually gone). */
export const ENDED_WATCHER_TTL_MS = 60_000;

export class Watchers {
  private readonly watchers = new Map<string, Watcher>();

  constructor(private readonly now: () => number = Date.now) {}

  private prune(): void {
    for (const [id, watcher] of this.watchers) {
      if (watcher.endedAt !== undefined && this.now() - watcher.endedAt > ENDED_WATCHER_TTL_MS)
        this.watchers.delete(id);
    }
  }

  /** Keeps `stream`'s events for polling; returns the watcher's id. */
  add(sandboxId: string, root: string, stream: WatchStream): string {
    this.prune();
    const count = [...this.watchers.values()].filter((watcher) => watcher.sandboxId === sandboxId).length;
    if (count >= MAX_WATCHERS_PER_SANDBOX) {
      void stream.close().catch(() => undefined);
      throw new BurrowError(
        'CONFLICT',
        `sandbox has ${count} watchers already: remove one (RemoveWatcher) before creating another`,
      );
    }
    const id = randomBytes(12).toString('hex');
    const watcher: Watcher = { sandboxId, root, stream, queue: [], overflowed: false };
    this.watchers.set(id, watcher);
    void this.pump(watcher);
    return id;
  }

  private async pump(watcher: Watcher): Promise<void> {
    try {
      for await (const event of watcher.stream) {
        if (event.type === 'overflow' || watcher.queue.length >= MAX_QUEUED_EVENTS) watcher.overflowed = true;
        else watcher.queue.push(event);
      }
      watcher.ended = 'the watch ended (the directory or the sandbox is gone)';
    } catch (error) {
      watcher.ended = error instanceof Error ? error.message : String(error);
    }
    watcher.endedAt = this.now();
  }

  private get(sandboxId: string, id: string): Watcher {
    const watcher = this.watchers.get(id);
    if (watcher === undefined || watcher.sandboxId !== sandboxId) {
      throw new BurrowError('FILE_NOT_FOUND', `watcher ${id.slice(0, 64)} not found`);
    }
    return watcher;
  }

  /** The events since the last poll. Lost events and an ended watch are errors (the watcher is then removed). */
  take(sandboxId: string, id: string): { root: string; events: WatchEvent[] } {
    const watcher = this.get(sandboxId, id);
    if (watcher.overflowed) {
      void this.remove(sandboxId, id);
      throw new BurrowError(
        'CONFLICT',
        'events were lost (the queue overflowed): create a new watcher and re-read the directory',
      );
    }
    const events = watcher.queue.splice(0);
    if (events.length === 0 && watcher.ended !== undefined) {
      void this.remove(sandboxId, id);
      throw new BurrowError('FILE_NOT_FOUND', watcher.ended);
    }
    return { root: watcher.root, events };
  }

  async remove(sandboxId: string, id: string): Promise<void> {
    const watcher = this.get(sandboxId, id);
    this.watchers.delete(id);
    await watcher.stream.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.watchers.values()];
    this.watchers.clear();
    await Promise.all(all.map((watcher) => watcher.stream.close().catch(() => undefined)));
  }
}
