/**
 * The `fuse` S3 mode, done on the host: Burrow runs Debian's `s3fs` as root on a host directory and the runtime
 * binds that directory into the sandbox, so the sandbox never gets SYS_ADMIN or /dev/fuse.
 *
 * Layout under the state directory: `mounts/<sandbox id>` is the mount point (bind it into the container);
 * `private/<sandbox id>` (0700) holds the s3fs log and, only until s3fs has read it at start-up, the 0600 password
 * file. Keys never appear on a command line or in a log line; s3fs runs with an environment of PATH only.
 *
 * SSRF: the endpoint is pinned by the guard first. For http endpoints s3fs is pointed at the pinned address itself
 * (`url=http://<ip>:<port>`), so it never resolves the name. For https endpoints the URL keeps the host name (the
 * certificate must match it, and s3fs has no resolve override); the name is validated at mount time with every
 * answer required to be permitted, but s3fs resolves it again itself. s3fs does not follow HTTP redirects.
 *
 * Mounts outlive a Burrow restart (s3fs daemonises); `list()` finds them for reconciliation.
 *
 * Propagation: `mounts/` is made a shared mount point (a bind of itself), and a sandbox binds its (still empty)
 * directory with slave propagation when it starts; the bucket is mounted on that directory once the sandbox runs
 * ({@link S3FuseMounts.prepare} before the start, {@link S3FuseMounts.mount} after it). Measured with Docker: a bind
 * whose source is already a mount point reaches the container as a private copy, so later mounts would not show;
 * a bind of a plain directory in a shared mount is a slave, so every mount made there afterwards (the first one,
 * reviving a dead s3fs, re-mounting after a restart) shows up inside the running sandbox.
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { access, chmod, mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join, resolve } from 'node:path';
import { BurrowError } from '@burrow/protocol';
import type { Logger } from '../../logger.js';
import type { ResolvedS3 } from './credentials.js';
import { parseEndpoint } from './endpoint.js';
import { directoryPrefix } from './keys.js';
import {
  fatalLog,
  DEFAULT_SEARCH_PATH,
  launchS3fs,
  logTail,
  mountPropagation,
  runMount,
  s3fsArgs,
  s3fsFailure,
  s3fsMountPoints,
  s3fsVersion,
  sleep,
  unmountFuse,
} from './s3fs.js';
import type { SsrfPolicy } from './ssrf.js';

export interface S3FuseMountsOptions {
  /** Burrow's state directory; mounts live under `<stateDir>/s3fs`. */
  stateDir: string;
  policy: SsrfPolicy;
  logger: Logger;
  /** The s3fs binary; default `s3fs` on PATH. */
  s3fsPath?: string;
  /** The search path s3fs runs with (its only environment variable); default /usr/sbin:/usr/bin:/sbin:/bin. */
  searchPath?: string;
  /** Owner of every file in the mount, as the sandbox sees it; default 1000:1000 (the sandbox user). */
  uid?: number;
  gid?: number;
  /** Permission bits masked off files and the mount root; default 0022 (owner writes, others read). */
  umask?: string;
  /** How long a mount may take to come up; default 15 s. */
  mountTimeoutMs?: number;
}

interface MountPlan {
  url: string;
  pathStyle: boolean;
}

const SANDBOX_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Whether s3fs and a usable /dev/fuse are there; the reason when not. */
export async function s3fsAvailable(
  s3fsPath = 's3fs',
): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await access('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    return {
      ok: false,
      reason:
        '/dev/fuse is missing or not accessible: load the fuse module (modprobe fuse) and run Burrow as root',
    };
  }
  try {
    await s3fsVersion(s3fsPath);
  } catch {
    return { ok: false, reason: `${s3fsPath} is not installed: apt-get install -y s3fs fuse3` };
  }
  return { ok: true };
}

export class S3FuseMounts {
  private readonly root: string;
  private readonly policy: SsrfPolicy;
  private readonly logger: Logger;
  private readonly s3fs: string;
  private readonly searchPath: string;
  private readonly uid: number;
  private readonly gid: number;
  private readonly umask: string;
  private readonly timeoutMs: number;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(options: S3FuseMountsOptions) {
    // The real path, as /proc/self/mountinfo reports mount points with symlinks resolved.
    const root = join(resolve(options.stateDir), 's3fs');
    mkdirSync(root, { recursive: true, mode: 0o755 });
    this.root = realpathSync(root);
    this.policy = options.policy;
    this.logger = options.logger;
    this.s3fs = options.s3fsPath ?? 's3fs';
    this.searchPath = options.searchPath ?? DEFAULT_SEARCH_PATH;
    this.uid = options.uid ?? 1000;
    this.gid = options.gid ?? 1000;
    this.umask = options.umask ?? '0022';
    this.timeoutMs = options.mountTimeoutMs ?? 15_000;
  }

  /** The host directory a sandbox's mount lives at (bind this into the container). */
  mountDir(sandboxId: string): string {
    if (!SANDBOX_ID.test(sandboxId))
      throw new BurrowError(
        'VALIDATION_FAILED',
        `sandbox id ${JSON.stringify(sandboxId)} cannot name a mount directory`,
      );
    return join(this.root, 'mounts', sandboxId);
  }

  private privateDir(sandboxId: string): string {
    return join(this.root, 'private', sandboxId);
  }

  /** Whether s3fs and /dev/fuse are there; the reason when not (for a startup check of `allow_s3_fuse`). */
  available(): Promise<{ ok: true } | { ok: false; reason: string }> {
    return s3fsAvailable(this.s3fs);
  }

  /** Serialises operations per sandbox. */
  private exclusive<T>(sandboxId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(sandboxId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(sandboxId, next);
    void next
      .finally(() => {
        if (this.locks.get(sandboxId) === next) this.locks.delete(sandboxId);
      })
      .catch(() => undefined);
    return next;
  }

  async isMounted(sandboxId: string): Promise<boolean> {
    return (await s3fsMountPoints()).has(this.mountDir(sandboxId));
  }

  /** Sandbox ids that have an s3fs mount now (including ones left from before a restart). */
  async list(): Promise<string[]> {
    const prefix = join(this.root, 'mounts') + '/';
    return [...(await s3fsMountPoints())]
      .filter((point) => point.startsWith(prefix))
      .map((point) => point.slice(prefix.length));
  }

  /**
   * Mounts `s3://bucket/prefix` for a sandbox and returns the host directory once the mount answers. Idempotent: a
   * live mount is returned as is; a dead one (s3fs gone) is cleared and mounted again.
   */
  mount(sandboxId: string, resolved: ResolvedS3): Promise<string> {
    const dir = this.mountDir(sandboxId);
    return this.exclusive(sandboxId, async () => {
      if (await this.isMounted(sandboxId)) {
        if (await this.answers(dir)) return dir;
        this.logger.warn({ sandboxId }, 'S3 FUSE mount is dead; mounting again');
        await unmountFuse(dir, this.logger);
      }
      const plan = await this.plan(resolved);
      await this.ensureSharedRoot();
      await this.start(sandboxId, dir, resolved, plan);
      return dir;
    });
  }

  /**
   * Readies a sandbox's mount directory for the runtime to bind (before the sandbox starts): the shared root exists,
   * the directory exists, and nothing is mounted on it (the bucket is mounted once the sandbox runs).
   */
  prepare(sandboxId: string): Promise<string> {
    const dir = this.mountDir(sandboxId);
    return this.exclusive(sandboxId, async () => {
      await this.ensureSharedRoot();
      if (await this.isMounted(sandboxId)) await unmountFuse(dir, this.logger);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      return dir;
    });
  }

  /**
   * Makes `mounts/` a shared mount point (a bind of itself) so mounts under it propagate into sandboxes that bind
   * their directory with slave propagation. Idempotent.
   */
  private async ensureSharedRoot(): Promise<void> {
    const dir = join(this.root, 'mounts');
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const propagation = await mountPropagation(dir);
    if (propagation === 'shared') return;
    if (propagation === undefined) await runMount('mount', ['--bind', dir, dir]);
    await runMount('mount', ['--make-shared', dir]);
  }

  /**
   * Undoes {@link ensureSharedRoot} once no s3fs mount is left under it (tests, and tidy shutdowns that destroyed
   * every sandbox). Returns false when mounts remain and the root was kept.
   */
  async release(): Promise<boolean> {
    if ((await this.list()).length > 0) return false;
    const dir = join(this.root, 'mounts');
    while ((await mountPropagation(dir)) !== undefined) {
      await runMount('umount', [dir]);
    }
    return true;
  }

  /** Unmounts and removes the mount directory; a sandbox without a mount is fine. */
  unmount(sandboxId: string): Promise<void> {
    const dir = this.mountDir(sandboxId);
    return this.exclusive(sandboxId, async () => {
      if (await this.isMounted(sandboxId)) await unmountFuse(dir, this.logger);
      await rmdir(dir).catch(() => undefined); // never recursive: if the unmount failed this would reach the bucket
      await rm(this.privateDir(sandboxId), { recursive: true, force: true });
    });
  }

  private async plan(resolved: ResolvedS3): Promise<MountPlan> {
    if (resolved.endpoint === undefined) {
      const url = `https://s3.${resolved.region}.amazonaws.com`;
      await this.policy.pin(url, { strict: true });
      return { url, pathStyle: false };
    }
    // https keeps the host name in the URL (s3fs resolves it again), so every answer must be permitted.
    const pinned = await this.policy.pin(resolved.endpoint, {
      strict: parseEndpoint(resolved.endpoint).scheme === 'https',
    });
    if (pinned.path !== '/') {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `S3 endpoint ${pinned.authority}${pinned.path} has a path, which s3fs cannot use: use an endpoint without a path for mode fuse`,
      );
    }
    if (pinned.scheme === 'https') return { url: pinned.url, pathStyle: true };
    const address = pinned.pinned.includes(':') ? `[${pinned.pinned}]` : pinned.pinned;
    return { url: `http://${address}:${pinned.port}`, pathStyle: true };
  }

  private async start(sandboxId: string, dir: string, resolved: ResolvedS3, plan: MountPlan): Promise<void> {
    const privateDir = this.privateDir(sandboxId);
    const passwd = join(privateDir, 'passwd');
    const log = join(privateDir, 's3fs.log');
    const keys = resolved.credentials.reveal();
    const secrets = [keys.accessKeyId, keys.secretAccessKey];
    await mkdir(join(this.root, 'mounts'), { recursive: true, mode: 0o755 });
    await mkdir(join(this.root, 'private'), { recursive: true, mode: 0o700 });
    await chmod(join(this.root, 'private'), 0o700);
    await rm(privateDir, { recursive: true, force: true });
    await mkdir(privateDir, { mode: 0o700 });
    await writeFile(passwd, `${keys.accessKeyId}:${keys.secretAccessKey}\n`, { mode: 0o600, flag: 'wx' });
    // A directory prepared for (and bound into) a sandbox stays when a mount fails, so a later mount still reaches it.
    const prepared = await access(dir).then(
      () => true,
      () => false,
    );
    await mkdir(dir, { recursive: true, mode: 0o755 });

    const args = s3fsArgs({
      bucket: resolved.bucket,
      prefix: directoryPrefix(resolved.prefix).replace(/\/$/, ''),
      mountDir: dir,
      options: [
        ['passwd_file', passwd],
        ['url', plan.url],
        ...(plan.pathStyle ? [['use_path_request_style'] as const] : []),
        ['endpoint', resolved.region],
        ['allow_other'],
        ['uid', String(this.uid)],
        ['gid', String(this.gid)],
        ['umask', this.umask],
        ['mp_umask', this.umask],
        ['logfile', log],
        ['dbglevel', 'warn'],
        ['retries', '3'],
        ['connect_timeout', '10'],
        ['readwrite_timeout', '60'],
      ],
    });
    const fail = async (error: BurrowError): Promise<never> => {
      if (await this.isMounted(sandboxId)) await unmountFuse(dir, this.logger).catch(() => undefined);
      if (!prepared) await rmdir(dir).catch(() => undefined);
      await rm(privateDir, { recursive: true, force: true });
      throw error;
    };
    try {
      const launcher = await launchS3fs(this.s3fs, args, this.searchPath);
      // s3fs has read the password file before it daemonises: it need not stay on disk.
      await rm(passwd, { force: true });
      if (launcher.code !== 0) {
        return await fail(this.failure(`${launcher.stderr}\n${await logTail(log)}`, resolved, plan, secrets));
      }
      await this.waitLive(sandboxId, dir, log, resolved, plan, secrets, fail);
      this.logger.info(
        { sandboxId, bucket: resolved.bucket, prefix: resolved.prefix, url: plan.url, mountDir: dir },
        'S3 FUSE mount ready',
      );
    } finally {
      await rm(passwd, { force: true });
    }
  }

  private async waitLive(
    sandboxId: string,
    dir: string,
    log: string,
    resolved: ResolvedS3,
    plan: MountPlan,
    secrets: string[],
    fail: (error: BurrowError) => Promise<never>,
  ): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    while (Date.now() < deadline) {
      const tail = await logTail(log);
      if (fatalLog(tail)) return await fail(this.failure(tail, resolved, plan, secrets));
      // Live means: mounted, a listing is answered, still mounted afterwards, and s3fs logged no fatal error.
      if (
        (await this.isMounted(sandboxId)) &&
        (await this.answers(dir)) &&
        (await this.isMounted(sandboxId))
      ) {
        const after = await logTail(log);
        if (fatalLog(after)) return await fail(this.failure(after, resolved, plan, secrets));
        return;
      }
      await sleep(100);
    }
    return await fail(
      new BurrowError(
        'TIMEOUT',
        `S3 FUSE mount of bucket ${resolved.bucket} via ${plan.url} did not come up within ${this.timeoutMs} ms: check the endpoint and that s3fs can reach it`,
      ),
    );
  }

  private failure(output: string, resolved: ResolvedS3, plan: MountPlan, secrets: string[]): BurrowError {
    return s3fsFailure(output, { bucket: resolved.bucket, url: plan.url, secrets });
  }

  /** Whether the mount answers a directory listing within a few seconds. */
  private async answers(dir: string): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>(
      (resolveTimeout) => (timer = setTimeout(() => resolveTimeout(false), 5_000)),
    );
    const listing = readdir(dir).then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([listing, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
