import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BurrowError } from '@burrow/protocol';
import { isBurrowError } from '@burrow/protocol';
import { silentLogger } from '../../logger.js';
import { createS3Client, type S3Connection } from './client.js';
import { resolveS3, type S3ServerConfig } from './credentials.js';
import { S3FuseMounts, s3fsAvailable } from './fuse.js';
import { SsrfPolicy } from './ssrf.js';
import { S3RVER_KEY, startS3rver, type TestS3Server } from './test-support/s3rver.js';

const BUCKET = 'fuse-bucket';
const SECRET = 'fuse-secret-never-on-a-command-line';

const availability =
  process.getuid?.() === 0 ? await s3fsAvailable() : { ok: false as const, reason: 'not root' };
/** CI prepares the host (scripts/setup-host.sh, as root): there a missing prerequisite is a failure, not a skip. */
const inCi = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());
if (!availability.ok && !inCi) console.warn(`skipping S3 FUSE tests: ${availability.reason}`);

describe.runIf(!availability.ok && inCi)('S3 FUSE prerequisites in CI', () => {
  it('are present', () => {
    throw new Error(
      `the S3 FUSE tests cannot run: ${availability.ok ? '' : availability.reason}: CI must run them as root with s3fs and fuse3 installed (bash scripts/setup-host.sh)`,
    );
  });
});

/** Runs a shell command as uid/gid 1000, as the sandbox user would. */
function asSandboxUser(script: string): { status: number | null; stderr: string } {
  const result = spawnSync(
    'setpriv',
    ['--reuid=1000', '--regid=1000', '--clear-groups', 'sh', '-c', script],
    { encoding: 'utf8' },
  );
  return { status: result.status, stderr: result.stderr };
}

/** Pids of s3fs processes serving a mount directory (found via /proc, to check their argv). */
async function s3fsProcesses(mountDir: string): Promise<Array<{ pid: number; argv: string }>> {
  const found: Array<{ pid: number; argv: string }> = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (argv.startsWith('s3fs\0') && argv.includes(mountDir))
      found.push({ pid: Number(entry), argv: argv.split('\0').join(' ') });
  }
  return found;
}

async function failure(promise: Promise<unknown>): Promise<BurrowError> {
  try {
    await promise;
  } catch (error) {
    if (isBurrowError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe.skipIf(!availability.ok)('S3FuseMounts with s3fs against s3rver', () => {
  let s3: TestS3Server;
  let stateDir: string;
  let server: S3ServerConfig;
  let mounts: S3FuseMounts;
  let connection: S3Connection;

  beforeAll(async () => {
    s3 = await startS3rver([BUCKET]);
    stateDir = await mkdtemp(join(tmpdir(), 'burrow-fuse-'));
    await chmod(stateDir, 0o755); // uid 1000 walks the host path here; in a sandbox the mount is bound in directly
    server = {
      endpoint: s3.endpoint,
      region: 'us-east-1',
      accessKey: S3RVER_KEY,
      secretKey: SECRET,
      allowInternalEndpoint: true,
    };
    const policy = new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: s3.endpoint });
    mounts = new S3FuseMounts({ stateDir, policy, logger: silentLogger });
    connection = await createS3Client(resolveS3({ bucket: BUCKET }, server), policy);
  });

  afterAll(async () => {
    for (const id of await mounts.list()) await mounts.unmount(id);
    await mounts.release();
    connection.destroy();
    await s3.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('mounts a prefix the sandbox user can read and write, with keys kept off the command line and disk', async () => {
    await connection.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'work/existing.txt', Body: 'from s3' }),
    );
    const dir = await mounts.mount('sbx-fuse', resolveS3({ bucket: BUCKET, prefix: 'work/' }, server));
    expect(dir).toBe(join(stateDir, 's3fs', 'mounts', 'sbx-fuse'));
    expect(await mounts.isMounted('sbx-fuse')).toBe(true);
    expect(await mounts.list()).toEqual(['sbx-fuse']);
    expect(await readFile(join(dir, 'existing.txt'), 'utf8')).toBe('from s3');

    const wrote = asSandboxUser(
      `echo hello > '${dir}/new.txt' && mkdir '${dir}/sub' && echo deep > '${dir}/sub/deep.txt' && cat '${dir}/existing.txt'`,
    );
    expect(wrote).toEqual({ status: 0, stderr: '' });
    const deep = await connection.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'work/sub/deep.txt' }),
    );
    expect(await deep.Body?.transformToString()).toBe('deep\n');
    expect((await stat(join(dir, 'new.txt'))).uid).toBe(1000);

    const privateDir = join(stateDir, 's3fs', 'private', 'sbx-fuse');
    expect((await stat(privateDir)).mode & 0o777).toBe(0o700);
    expect(await readdir(privateDir)).not.toContain('passwd');
    const processes = await s3fsProcesses(dir);
    expect(processes).toHaveLength(1);
    expect(processes[0]?.argv).not.toContain(SECRET);
    expect(processes[0]?.argv).toContain(`url=http://127.0.0.1:${s3.port}`);
    expect(await readFile(join(privateDir, 's3fs.log'), 'utf8')).not.toContain(SECRET);
  });

  it('is idempotent: mounting again returns the live mount, unmounting twice is fine', async () => {
    const dir = await mounts.mount('sbx-fuse', resolveS3({ bucket: BUCKET, prefix: 'work/' }, server));
    expect(await s3fsProcesses(dir)).toHaveLength(1);
    await mounts.unmount('sbx-fuse');
    expect(await mounts.isMounted('sbx-fuse')).toBe(false);
    await expect(stat(dir)).rejects.toThrow();
    await mounts.unmount('sbx-fuse');
    await mounts.unmount('never-mounted');
  });

  it('replaces a dead mount (s3fs gone) when mounting again', async () => {
    const resolved = resolveS3({ bucket: BUCKET, prefix: 'revive' }, server);
    const dir = await mounts.mount('sbx-revive', resolved);
    const [first] = await s3fsProcesses(dir);
    expect(first).toBeDefined();
    process.kill(first?.pid ?? 0, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await mounts.isMounted('sbx-revive')).toBe(true); // the kernel still lists the dead mount
    await mounts.mount('sbx-revive', resolved);
    expect(asSandboxUser(`echo back > '${dir}/alive.txt'`).status).toBe(0);
    const alive = await connection.client.send(
      new GetObjectCommand({ Bucket: BUCKET, Key: 'revive/alive.txt' }),
    );
    expect(await alive.Body?.transformToString()).toBe('back\n');
    await mounts.unmount('sbx-revive');
  });

  it('reports wrong credentials and a missing bucket, leaving nothing behind', async () => {
    const denied = await failure(
      mounts.mount(
        'sbx-denied',
        resolveS3({ bucket: BUCKET, accessKey: 'WRONGKEY', secretKey: SECRET }, server),
      ),
    );
    expect(denied.code).toBe('S3_ACCESS_DENIED');
    expect(denied.message).not.toMatch(/WRONGKEY|fuse-secret/);
    expect(await mounts.isMounted('sbx-denied')).toBe(false);
    await expect(stat(join(stateDir, 's3fs', 'private', 'sbx-denied'))).rejects.toThrow();
    await expect(stat(join(stateDir, 's3fs', 'mounts', 'sbx-denied'))).rejects.toThrow();
    const missing = await failure(
      mounts.mount('sbx-missing', resolveS3({ bucket: 'no-such-bucket' }, server)),
    );
    expect(missing.code).toBe('S3_NOT_FOUND');
    expect(await mounts.isMounted('sbx-missing')).toBe(false);
  });

  it('refuses endpoints the SSRF guard refuses, before running s3fs', async () => {
    const closed = new S3FuseMounts({
      stateDir,
      policy: new SsrfPolicy({ allowInternalEndpoint: false }),
      logger: silentLogger,
    });
    expect(
      (
        await failure(
          closed.mount(
            'sbx-ssrf',
            resolveS3({ bucket: BUCKET, endpoint: s3.endpoint }, { ...server, allowInternalEndpoint: false }),
          ),
        )
      ).code,
    ).toBe('SSRF_BLOCKED');
    const metadata = resolveS3(
      { bucket: BUCKET, endpoint: 'http://169.254.169.254' },
      { ...server, allowInternalEndpoint: false },
    );
    expect((await failure(closed.mount('sbx-ssrf', metadata))).message).toMatch(/never allowed/);
    await expect(stat(join(stateDir, 's3fs', 'mounts', 'sbx-ssrf'))).rejects.toThrow();
    expect(() => closed.mountDir('../escape')).toThrow(/cannot name a mount directory/);
  });
});
