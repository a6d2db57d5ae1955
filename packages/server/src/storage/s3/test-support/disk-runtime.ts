/**
 * A Runtime stub whose files live on the host disk under a root directory, streaming both ways. Only the file
 * methods exist; it lets memory tests move hundreds of megabytes without the FakeRuntime's in-memory buffers.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BurrowError } from '@burrow/protocol';
import type {
  DirListing,
  FileData,
  FileInfo,
  FileRead,
  Runtime,
  SandboxPath,
} from '../../../runtime/runtime.js';

function text(path: SandboxPath): string {
  return typeof path === 'string' ? path : Buffer.from(path).toString('utf8');
}

function info(path: string, stats: Awaited<ReturnType<typeof lstat>>): FileInfo {
  const type = stats.isDirectory() ? 'd' : stats.isSymbolicLink() ? 'l' : '-';
  return {
    name: path.split('/').pop() ?? '',
    path,
    size: Number(stats.size),
    mode: `${type}rw-r--r--`,
    modTime: stats.mtime,
    isDir: stats.isDirectory(),
    isSymlink: stats.isSymbolicLink(),
  };
}

export function diskRuntime(root: string): Runtime {
  const host = (path: SandboxPath) => join(root, text(path));
  const files = {
    async readFile(_id: string, path: SandboxPath): Promise<FileRead> {
      const stats = await lstat(host(path));
      return {
        info: info(text(path), stats),
        sizeExact: true,
        body: createReadStream(host(path), { highWaterMark: 256 * 1024 }),
      };
    },
    async writeFile(_id: string, path: SandboxPath, data: FileData): Promise<{ bytes: number }> {
      await mkdir(dirname(host(path)), { recursive: true });
      let bytes = 0;
      const source = typeof data === 'string' || data instanceof Uint8Array ? [Buffer.from(data)] : data;
      const counted = Readable.from(
        (async function* () {
          for await (const chunk of source) {
            bytes += chunk.length;
            yield chunk;
          }
        })(),
      );
      await pipeline(counted, createWriteStream(host(path)));
      return { bytes };
    },
    async listDir(_id: string, path: SandboxPath): Promise<DirListing> {
      const names = await readdir(host(path));
      const entries = await Promise.all(
        names.map(async (name) => info(join(text(path), name), await lstat(join(host(path), name)))),
      );
      return { entries, truncated: false };
    },
    async stat(_id: string, path: SandboxPath): Promise<FileInfo> {
      return info(text(path), await lstat(host(path)));
    },
    async mkdir(_id: string, path: SandboxPath): Promise<void> {
      await mkdir(host(path), { recursive: true });
    },
    async removeFile(_id: string, path: SandboxPath): Promise<void> {
      await rm(host(path), { recursive: true });
    },
  };
  return new Proxy(files, {
    get(target, property) {
      if (property in target) return target[property as keyof typeof target];
      return () => Promise.reject(new BurrowError('NOT_SUPPORTED', `diskRuntime has no ${String(property)}`));
    },
  }) as unknown as Runtime;
}
