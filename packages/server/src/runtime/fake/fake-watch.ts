/**
 * File watching for the in-memory runtime: changes the fake's own file calls make are reported as inotify would
 * report them inside a real sandbox (create, write, remove; a directory's direct children, or the whole tree when
 * recursive), through a bounded queue whose overflow is an event of its own.
 */
import { BurrowError } from '@burrow/protocol';
import { AsyncQueue } from '../../util/async-queue.js';
import type { WatchEvent, WatchEventKind, WatchOptions, WatchStream } from '../runtime.js';

/** Events a watcher may have pending before it gets an overflow instead (as the kernel's queue does). */
export const FAKE_WATCH_QUEUE = 1024;

interface Watcher {
  root: string;
  recursive: boolean;
  queue: AsyncQueue<WatchEvent>;
  pending: number;
  overflowed: boolean;
}

function parentOf(key: string): string {
  const slash = key.lastIndexOf('/');
  return slash <= 0 ? '/' : key.slice(0, slash);
}

function within(key: string, root: string): boolean {
  return root === '/' ? key !== '/' : key.startsWith(`${root}/`);
}

export class FakeWatchers {
  private readonly bySandbox = new Map<string, Set<Watcher>>();

  watch(id: string, root: string, isDir: boolean, options: WatchOptions = {}): WatchStream {
    if (!isDir) throw new BurrowError('NOT_A_DIRECTORY', `${root}: not a directory: watch a directory`);
    const watcher: Watcher = {
      root,
      recursive: options.recursive === true,
      queue: new AsyncQueue<WatchEvent>(),
      pending: 0,
      overflowed: false,
    };
    const set = this.bySandbox.get(id) ?? new Set<Watcher>();
    this.bySandbox.set(id, set);
    set.add(watcher);
    const close = () => {
      set.delete(watcher);
      watcher.queue.end();
      return Promise.resolve();
    };
    options.signal?.addEventListener('abort', () => void close(), { once: true });
    const iterator = watcher.queue[Symbol.asyncIterator]();
    return {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const result = await iterator.next();
          if (result.done !== true && result.value.type === 'event') watcher.pending -= 1;
          if (result.done !== true && result.value.type === 'overflow') watcher.overflowed = false;
          return result;
        },
        return: async () => {
          await close();
          return { value: undefined, done: true };
        },
      }),
      close,
    };
  }

  notify(id: string, kind: WatchEventKind, key: string, isDir: boolean): void {
    for (const watcher of this.bySandbox.get(id) ?? []) {
      const seen = watcher.recursive ? within(key, watcher.root) : parentOf(key) === watcher.root;
      if (!seen || watcher.overflowed) continue;
      if (watcher.pending >= FAKE_WATCH_QUEUE) {
        watcher.overflowed = true;
        watcher.queue.push({ type: 'overflow' });
        continue;
      }
      watcher.pending += 1;
      // Keys hold a path's bytes one per character (the fake's latin1 keys).
      watcher.queue.push({ type: 'event', kind, path: Buffer.from(key, 'latin1'), isDir });
    }
  }

  /** The sandbox stopped or was removed: its watches end. */
  end(id: string): void {
    for (const watcher of this.bySandbox.get(id) ?? []) watcher.queue.end();
    this.bySandbox.delete(id);
  }
}
