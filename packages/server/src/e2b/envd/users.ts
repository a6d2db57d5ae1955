/**
 * E2B's users and paths in a Burrow sandbox. E2B names the user a call runs as (`user` by default, or `root`);
 * here `user` (or none) is the image's own user and any other name is passed on as Docker's `User` is. Relative
 * paths and `~` are resolved against that user's home directory, as E2B does.
 */
import { posix } from 'node:path';
import { BurrowError } from '@burrow/protocol';
import type { Engine } from '../../engine/engine.js';

/** E2B's name for the sandbox's ordinary user. */
export const E2B_DEFAULT_USER = 'user';
const USER_NAME = /^(?:[a-z_][a-z0-9_.-]{0,31}|\d{1,10})$/;
/** Homes remembered (per sandbox and user); a sandbox's home does not change while it runs. */
const MAX_CACHED_HOMES = 4096;
const MAX_PASSWD_BYTES = 1024 * 1024;

/** The exec user for an E2B user name: undefined (the image's user) for `user` and for none. */
export function execUser(e2bUser: string | undefined): string | undefined {
  if (e2bUser === undefined || e2bUser === '' || e2bUser === E2B_DEFAULT_USER) return undefined;
  if (!USER_NAME.test(e2bUser)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `user "${e2bUser.slice(0, 40)}" is not a user name: use "user", "root" or another name or uid from the image`,
    );
  }
  return e2bUser;
}

/** The user of a Connect call: `Authorization: Basic base64(<user>:)`, as E2B's SDKs send it. */
export function userFromAuthorization(header: string | null | undefined): string | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header?.trim() ?? '');
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const user = decoded.split(':')[0];
  return user === '' ? undefined : user;
}

async function readAll(stream: AsyncIterable<Uint8Array>, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    if (total > max) throw new BurrowError('PAYLOAD_TOO_LARGE', `/etc/passwd is larger than ${max} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** The home directory of `user` in /etc/passwd text (by name or uid). */
export function homeFromPasswd(passwd: string, user: string): string | undefined {
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 7) continue;
    if (fields[0] === user || fields[2] === user) return fields[5] || '/';
  }
  return undefined;
}

export class SandboxHomes {
  private readonly cache = new Map<string, string>();

  constructor(private readonly engine: Engine) {}

  /** The home directory of a sandbox's user (the image's user when `user` is undefined). */
  async home(sandboxId: string, user: string | undefined): Promise<string> {
    const key = `${sandboxId}\0${user ?? ''}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const home =
      user === undefined ? await this.defaultHome(sandboxId) : await this.passwdHome(sandboxId, user);
    if (this.cache.size >= MAX_CACHED_HOMES) this.cache.delete(this.cache.keys().next().value ?? '');
    this.cache.set(key, home);
    return home;
  }

  private async defaultHome(sandboxId: string): Promise<string> {
    const result = await this.engine.exec(sandboxId, {
      cmd: ['sh', '-c', 'printf %s "$HOME"'],
      timeoutMs: 10_000,
    });
    const home = result.stdout.toString('utf8');
    // Anything odd (no shell, a relative or huge value) falls back to the root directory.
    return result.exitCode === 0 && home.startsWith('/') && home.length < 4096 ? posix.normalize(home) : '/';
  }

  private async passwdHome(sandboxId: string, user: string): Promise<string> {
    const name = user.split(':')[0] ?? user;
    if (name === 'root' || name === '0') return '/root';
    try {
      const file = await this.engine.readFile(sandboxId, '/etc/passwd');
      const home = homeFromPasswd((await readAll(file.body, MAX_PASSWD_BYTES)).toString('utf8'), name);
      return home !== undefined && home.startsWith('/') ? posix.normalize(home) : '/';
    } catch {
      return '/';
    }
  }

  /** An absolute, normalised path: relative paths and `~` are taken from the user's home. */
  async resolve(sandboxId: string, path: string, user: string | undefined): Promise<string> {
    if (path.includes('\0')) throw new BurrowError('INVALID_PATH', 'path: a path may not contain NUL bytes');
    if (path.startsWith('/')) return posix.normalize(path);
    const home = await this.home(sandboxId, user);
    if (path === '~' || path === '') return home;
    return posix.normalize(posix.join(home, path.startsWith('~/') ? path.slice(2) : path));
  }
}
