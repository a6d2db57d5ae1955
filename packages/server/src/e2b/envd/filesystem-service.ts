/**
 * envd's `filesystem.Filesystem` over Burrow's file calls. Reads and listings go through the runtime as the
 * image's user; changes asked for as another user (`root`) run as that user (`mkdir -p`, `rm -rf`, `mv` with the
 * paths as arguments, never through a shell). Renames always run `mv`, as the runtime has no rename.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { posix } from 'node:path';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import type { Engine } from '../../engine/engine.js';
import type { FileInfo, WatchEvent } from '../../runtime/runtime.js';
import {
  EventType,
  FilesystemEventSchema,
  type EntryInfo,
  type Filesystem,
  type FilesystemEvent,
  type WatchDirResponse,
} from '../gen/filesystem/filesystem_pb.js';
import { keepaliveMsOf, sandboxOf, userOf } from './context.js';
import { entryInfo } from './entry.js';
import { KEEPALIVE, withKeepalive } from './keepalive.js';
import { execUser, type SandboxHomes } from './users.js';
import type { Watchers } from './watchers.js';

/** Most entries one ListDir returns, over all levels. */
export const MAX_LISTED_ENTRIES = 100_000;
const MAX_DEPTH = 64;

export interface FilesystemServiceOptions {
  engine: Engine;
  homes: SandboxHomes;
  watchers: Watchers;
}

const EVENT_TYPES: Record<string, EventType> = {
  create: EventType.CREATE,
  write: EventType.WRITE,
  remove: EventType.REMOVE,
  rename: EventType.RENAME,
  chmod: EventType.CHMOD,
};

/** A failed command's stderr as a Burrow error a client can act on. */
function commandError(what: string, stderr: Buffer): BurrowError {
  const text = stderr.toString('utf8').trim().split('\n')[0]?.slice(0, 500) ?? '';
  if (/permission denied|operation not permitted/i.test(text))
    return new BurrowError('PERMISSION_DENIED', `${what}: ${text}`);
  if (/read-only file system/i.test(text)) return new BurrowError('READ_ONLY', `${what}: ${text}`);
  if (/no such file/i.test(text)) return new BurrowError('FILE_NOT_FOUND', `${what}: ${text}`);
  return new BurrowError('BAD_REQUEST', `${what} failed${text === '' ? '' : `: ${text}`}`);
}

/** Runs a file command (argv, no shell) as `user`; a non-zero exit is an error. */
export async function runFileCommand(
  engine: Engine,
  sandboxId: string,
  cmd: string[],
  user: string | undefined,
  what: string,
): Promise<void> {
  const result = await engine.exec(sandboxId, {
    cmd,
    timeoutMs: 60_000,
    ...(user === undefined ? {} : { user }),
  });
  if (result.exitCode !== 0) throw commandError(what, result.stderr);
}

/** The watch event's path relative to the watched directory (`name` in envd's events). */
function relativeName(root: string, event: Extract<WatchEvent, { type: 'event' }>): string {
  const path = event.path.toString('utf8');
  if (root === '/') return path.replace(/^\/+/, '');
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : posix.basename(path);
}

export function filesystemService(options: FilesystemServiceOptions): ServiceImpl<typeof Filesystem> {
  const { engine, homes, watchers } = options;

  const target = async (context: HandlerContext, path: string) => {
    const sandboxId = sandboxOf(context);
    const user = execUser(userOf(context));
    return { sandboxId, user, path: await homes.resolve(sandboxId, path, user) };
  };

  const statEntry = async (sandboxId: string, path: string): Promise<EntryInfo> =>
    entryInfo(await engine.stat(sandboxId, path), path);

  const exists = async (sandboxId: string, path: string): Promise<FileInfo | undefined> => {
    try {
      return await engine.stat(sandboxId, path);
    } catch (error) {
      if (isBurrowError(error, 'FILE_NOT_FOUND')) return undefined;
      throw error;
    }
  };

  const eventOf = async (
    sandboxId: string,
    root: string,
    event: Extract<WatchEvent, { type: 'event' }>,
    includeEntry: boolean,
  ): Promise<FilesystemEvent> => {
    const out = create(FilesystemEventSchema, {
      name: relativeName(root, event),
      type: EVENT_TYPES[event.kind] ?? EventType.UNSPECIFIED,
    });
    if (includeEntry && event.kind !== 'remove' && event.kind !== 'rename') {
      const path = event.path.toString('utf8');
      const info = await exists(sandboxId, path).catch(() => undefined);
      if (info !== undefined) out.entry = entryInfo(info, path);
    }
    return out;
  };

  return {
    async stat(request, context) {
      const { sandboxId, path } = await target(context, request.path);
      return { entry: await statEntry(sandboxId, path) };
    },

    async makeDir(request, context) {
      const { sandboxId, user, path } = await target(context, request.path);
      if ((await exists(sandboxId, path)) !== undefined) {
        throw new ConnectError(`${path} already exists`, Code.AlreadyExists);
      }
      if (user === undefined) await engine.mkdir(sandboxId, path);
      else await runFileCommand(engine, sandboxId, ['mkdir', '-p', '--', path], user, `mkdir ${path}`);
      return { entry: await statEntry(sandboxId, path) };
    },

    async move(request, context) {
      const { sandboxId, user, path: source } = await target(context, request.source);
      const destination = await homes.resolve(sandboxId, request.destination, user);
      if ((await exists(sandboxId, source)) === undefined) {
        throw new BurrowError('FILE_NOT_FOUND', `${source}: no such file or directory`);
      }
      const parent = posix.dirname(destination);
      if ((await exists(sandboxId, parent)) === undefined) {
        await runFileCommand(engine, sandboxId, ['mkdir', '-p', '--', parent], user, `mkdir ${parent}`);
      }
      await runFileCommand(
        engine,
        sandboxId,
        ['mv', '-f', '--', source, destination],
        user,
        `move ${source}`,
      );
      return { entry: await statEntry(sandboxId, destination) };
    },

    async listDir(request, context) {
      const { sandboxId, path } = await target(context, request.path);
      const depth = Math.min(Math.max(request.depth, 1), MAX_DEPTH);
      const entries: EntryInfo[] = [];
      const walk = async (dir: string, level: number): Promise<void> => {
        const listing = await engine.listDir(sandboxId, dir, {
          maxEntries: MAX_LISTED_ENTRIES - entries.length,
        });
        const sorted = [...listing.entries].sort((a, b) => a.name.localeCompare(b.name));
        for (const info of sorted) {
          if (entries.length >= MAX_LISTED_ENTRIES) return;
          const child = posix.join(dir, info.name);
          entries.push(entryInfo(info, child));
          if (level < depth && info.isDir && !info.isSymlink) await walk(child, level + 1);
        }
      };
      await walk(path, 1);
      return { entries };
    },

    async remove(request, context) {
      const { sandboxId, user, path } = await target(context, request.path);
      if (user === undefined) {
        await engine.removeFile(sandboxId, path);
      } else {
        if ((await exists(sandboxId, path)) === undefined) {
          throw new BurrowError('FILE_NOT_FOUND', `${path}: no such file or directory`);
        }
        await runFileCommand(engine, sandboxId, ['rm', '-rf', '--', path], user, `remove ${path}`);
      }
      return {};
    },

    async *watchDir(request, context) {
      const { sandboxId, path } = await target(context, request.path);
      const stream = await engine.processes.watch(sandboxId, path, {
        recursive: request.recursive,
        signal: context.signal,
      });
      const stop = () => void stream.close().catch(() => undefined);
      context.signal.addEventListener('abort', stop, { once: true });
      try {
        const start: WatchDirResponse['event'] = {
          case: 'start',
          value: { $typeName: 'filesystem.WatchDirResponse.StartEvent' },
        };
        yield { event: start };
        for await (const item of withKeepalive(stream, keepaliveMsOf(context), context.signal)) {
          if (item === KEEPALIVE) {
            yield {
              event: { case: 'keepalive', value: { $typeName: 'filesystem.WatchDirResponse.KeepAlive' } },
            };
          } else if (item.type === 'overflow') {
            // envd has no event for lost events: end the watch, so the client knows to look again.
            throw new ConnectError(
              'events were lost (the watch queue overflowed): watch again and re-read the directory',
              Code.DataLoss,
            );
          } else {
            yield {
              event: {
                case: 'filesystem',
                value: await eventOf(sandboxId, path, item, request.includeEntry),
              },
            };
          }
        }
      } finally {
        context.signal.removeEventListener('abort', stop);
        stop();
      }
    },

    async createWatcher(request, context) {
      const { sandboxId, path } = await target(context, request.path);
      const stream = await engine.processes.watch(sandboxId, path, { recursive: request.recursive });
      return { watcherId: watchers.add(sandboxId, path, stream) };
    },

    async getWatcherEvents(request, context) {
      const sandboxId = sandboxOf(context);
      const { root, events } = watchers.take(sandboxId, request.watcherId);
      const changes = events.filter((event) => event.type === 'event');
      return { events: await Promise.all(changes.map((event) => eventOf(sandboxId, root, event, false))) };
    },

    async removeWatcher(request, context) {
      await watchers.remove(sandboxOf(context), request.watcherId);
      return {};
    },
  };
}
