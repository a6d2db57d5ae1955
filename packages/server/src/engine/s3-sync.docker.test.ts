/**
 * S3 storage end to end on the real Docker runtime, against s3rver on loopback (exempted as the server endpoint):
 * a hooks round trip of 1,500 objects including a 200 MB one, a FUSE mount a sandbox reads and writes that survives
 * stop/start and a server restart, and the upload on shutdown of a real server with destroy-on-exit.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { silentLogger } from '../logger.js';
import { startServer } from '../main.js';
import type { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import { createS3Client, type S3Connection } from '../storage/s3/client.js';
import { resolveS3, type S3ServerConfig } from '../storage/s3/credentials.js';
import { S3FuseMounts, s3fsAvailable } from '../storage/s3/fuse.js';
import { SsrfPolicy } from '../storage/s3/ssrf.js';
import {
  S3RVER_KEY,
  S3RVER_SECRET,
  startS3rver,
  type TestS3Server,
} from '../storage/s3/test-support/s3rver.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { BUSYBOX_IMAGE, testDockerRuntime } from '../test-support/docker-runtime.js';
import { testPolicy } from '../test-support/policy.js';
import { Engine } from './engine.js';
import { S3Sync } from './s3-sync.js';

const BUCKET = 'docker-bucket';
const BIG_BYTES = 200 * 1024 * 1024;
const SMALL_OBJECTS = 1499;

const policy = testPolicy({ defaultImage: BUSYBOX_IMAGE, defaultNetworkMode: 'none', allowS3Fuse: true });

let s3: TestS3Server;
let server: S3ServerConfig;
let ssrf: SsrfPolicy;
let connection: S3Connection;
let runtime: DockerRuntime;
let cleanupRuntime: () => Promise<void>;
let workDir: string;
let bigFile: string;
let bigHash: string;

async function sha256(stream: AsyncIterable<unknown>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function putFile(key: string, path: string): Promise<void> {
  await connection.client.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: key,
      Body: createReadStream(path),
      ContentLength: statSync(path).size,
    }),
  );
}

async function objectHash(key: string): Promise<string> {
  const object = await connection.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return sha256(object.Body as Readable);
}

async function objectText(key: string): Promise<string> {
  const object = await connection.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await object.Body?.transformToString()) ?? '';
}

async function listKeys(prefix: string): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  for await (const page of paginateListObjectsV2(
    { client: connection.client },
    { Bucket: BUCKET, Prefix: prefix },
  )) {
    for (const object of page.Contents ?? []) keys.set(object.Key ?? '', object.Size ?? -1);
  }
  return keys;
}

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const item = items[next];
        next += 1;
        if (item !== undefined) await work(item);
      }
    }),
  );
}

function engineWith(storeFile: string, fuse?: S3FuseMounts) {
  const store = new SqliteStore(join(workDir, storeFile));
  const s3Sync = new S3Sync({
    runtime,
    store,
    server,
    policy: ssrf,
    logger: silentLogger,
    allowS3: true,
    ...(fuse === undefined ? {} : { fuse }),
  });
  const engine = new Engine({ runtime, store, policy, maxSandboxes: 10, logger: silentLogger, s3: s3Sync });
  return { store, engine, s3Sync };
}

async function sh(
  engine: Engine,
  id: string,
  script: string,
): Promise<{ exitCode: number; out: string; err: string }> {
  const result = await engine.exec(id, { cmd: ['sh', '-c', script], timeoutMs: 120_000 });
  return {
    exitCode: result.exitCode,
    out: result.stdout.toString('utf8'),
    err: result.stderr.toString('utf8'),
  };
}

beforeAll(async () => {
  s3 = await startS3rver([BUCKET]);
  server = {
    endpoint: s3.endpoint,
    region: 'us-east-1',
    accessKey: S3RVER_KEY,
    secretKey: S3RVER_SECRET,
    allowInternalEndpoint: true,
  };
  ssrf = new SsrfPolicy({ allowInternalEndpoint: true, serverEndpoint: s3.endpoint });
  connection = await createS3Client(resolveS3({ bucket: BUCKET }, server), ssrf);
  ({ runtime, cleanup: cleanupRuntime } = await testDockerRuntime('socket'));
  workDir = await mkdtemp(join(tmpdir(), 'burrow-s3-docker-'));
  await chmod(workDir, 0o755);
  bigFile = join(workDir, 'big.bin');
  execFileSync('dd', ['if=/dev/urandom', `of=${bigFile}`, 'bs=1M', `count=${BIG_BYTES / 1024 / 1024}`], {
    stdio: 'ignore',
  });
  bigHash = await sha256(createReadStream(bigFile));
});

afterAll(async () => {
  for (const info of (await runtime?.list()) ?? []) await runtime.remove(info.id);
  connection?.destroy();
  await cleanupRuntime?.();
  await s3?.stop();
  if (workDir !== undefined) {
    await unmountUnder(workDir);
    await rm(workDir, { recursive: true, force: true });
  }
});

/** Whatever a failed test left mounted under `dir` (s3fs mounts, the shared root), deepest first. */
async function unmountUnder(dir: string): Promise<void> {
  const points = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of points) {
    try {
      execFileSync('umount', ['-l', point], { stdio: 'ignore' });
    } catch {
      // Already gone with its parent.
    }
  }
}

describe('hooks mode on Docker', () => {
  it('round-trips 1,500 objects including a 200 MB one: download after create, upload on destroy', async () => {
    const { engine } = engineWith('hooks.db');
    const small = Array.from({ length: SMALL_OBJECTS }, (_, i) => ({
      key: `hooks/d${i % 10}/s${i % 7}/f-${i}.txt`,
      body: `object ${i} ${'x'.repeat(i % 40)}\n`,
    }));
    const seeding = performance.now();
    await inParallel(small, 16, async ({ key, body }) => {
      await connection.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    });
    await putFile('hooks/big/blob.bin', bigFile);
    const smallBytes = small.reduce((sum, object) => sum + Buffer.byteLength(object.body), 0);
    console.log(`seeded 1,500 objects in ${Math.round(performance.now() - seeding)} ms`);

    const creating = performance.now();
    const sandbox = await engine.create({
      storage: { s3: { bucket: BUCKET, prefix: 'hooks', mode: 'hooks' } },
    });
    const createMs = performance.now() - creating;
    try {
      const download = sandbox.s3Sync?.[0];
      expect(download).toMatchObject({
        direction: 'download',
        objects: 1500,
        bytes: smallBytes + BIG_BYTES,
        failures: [],
        skipped: [],
        timedOut: false,
        syncPath: '/home/sandbox',
      });
      const downloadMs = Date.parse(download?.finishedAt ?? '') - Date.parse(download?.startedAt ?? '');
      console.log(
        `hooks download: 1,500 objects / ${smallBytes + BIG_BYTES} bytes in ${downloadMs} ms (create total ${Math.round(createMs)} ms)`,
      );

      const count = await sh(engine, sandbox.id, 'find /home/sandbox -type f | wc -l');
      expect(count.out.trim()).toBe('1500');
      const hash = await sh(engine, sandbox.id, 'sha256sum /home/sandbox/big/blob.bin');
      expect(hash.out.split(' ')[0]).toBe(bigHash);
      expect((await sh(engine, sandbox.id, 'cat /home/sandbox/d3/s3/f-3.txt')).out).toBe(small[3]?.body);

      const edit = await sh(
        engine,
        sandbox.id,
        'echo changed > /home/sandbox/d1/s1/f-1.txt && mkdir -p "/home/sandbox/new dir/x" && echo new > "/home/sandbox/new dir/x/y.txt"',
      );
      expect(edit).toMatchObject({ exitCode: 0, err: '' });
    } finally {
      await engine.destroy(sandbox.id);
    }
    const upload = engine.s3SyncReports(sandbox.id)[1];
    expect(upload).toMatchObject({
      direction: 'upload',
      objects: 1501,
      failures: [],
      skipped: [],
      timedOut: false,
    });
    console.log(
      `hooks upload: 1,501 files / ${upload?.bytes} bytes in ${Date.parse(upload?.finishedAt ?? '') - Date.parse(upload?.startedAt ?? '')} ms`,
    );
    const keys = await listKeys('hooks/');
    expect(keys.size).toBe(1501);
    expect([...keys.keys()].some((key) => key.includes('//'))).toBe(false);
    expect(keys.get('hooks/big/blob.bin')).toBe(BIG_BYTES);
    expect(await objectText('hooks/d1/s1/f-1.txt')).toBe('changed\n');
    expect(await objectText('hooks/new dir/x/y.txt')).toBe('new\n');
    expect(await objectHash('hooks/big/blob.bin')).toBe(bigHash);
  }, 900_000);
});

const fuseAvailable =
  process.getuid?.() === 0 ? await s3fsAvailable() : { ok: false as const, reason: 'not root' };
const inCi = ['true', '1'].includes((process.env.CI ?? '').toLowerCase());
if (!fuseAvailable.ok && !inCi) console.warn(`skipping the S3 FUSE docker test: ${fuseAvailable.reason}`);

describe.skipIf(!fuseAvailable.ok && !inCi)('fuse mode on Docker', () => {
  it('mounts the bucket into the sandbox read-write, across stop/start and a server restart', async () => {
    const fuseDir = join(workDir, 'fuse-state');
    const mounts = new S3FuseMounts({ stateDir: fuseDir, policy: ssrf, logger: silentLogger });
    const { engine, store } = engineWith('fuse.db', mounts);
    await connection.client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'fuse/existing.txt', Body: 'was in the bucket\n' }),
    );
    const sandbox = await engine.create({
      storage: { s3: { bucket: BUCKET, prefix: 'fuse', mode: 'fuse', mountPath: '/mnt/bucket' } },
    });
    try {
      expect(await mounts.isMounted(sandbox.id)).toBe(true);
      expect(await sh(engine, sandbox.id, 'cat /mnt/bucket/existing.txt')).toMatchObject({
        exitCode: 0,
        out: 'was in the bucket\n',
      });
      const wrote = await sh(
        engine,
        sandbox.id,
        'mkdir -p /mnt/bucket/sub && echo from-sandbox > /mnt/bucket/sub/new.txt && sync',
      );
      expect(wrote).toMatchObject({ exitCode: 0, err: '' });
      expect(await objectText('fuse/sub/new.txt')).toBe('from-sandbox\n');

      // The sandbox itself has no way to mount: no /dev/fuse, no CAP_SYS_ADMIN (bit 21).
      expect((await sh(engine, sandbox.id, 'test -e /dev/fuse')).exitCode).not.toBe(0);
      const caps = await sh(engine, sandbox.id, "grep CapEff /proc/self/status | awk '{print $2}'");
      expect(BigInt(`0x${caps.out.trim()}`) & (1n << 21n)).toBe(0n);

      await engine.stop(sandbox.id);
      expect(await mounts.isMounted(sandbox.id)).toBe(false);
      await connection.client.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'fuse/while-stopped.txt',
          Body: 'added while stopped\n',
        }),
      );
      await engine.start(sandbox.id);
      expect(await mounts.isMounted(sandbox.id)).toBe(true);
      expect(
        (await sh(engine, sandbox.id, 'cat /mnt/bucket/sub/new.txt /mnt/bucket/while-stopped.txt')).out,
      ).toBe('from-sandbox\nadded while stopped\n');
      expect(
        (await sh(engine, sandbox.id, 'echo after-restart > /mnt/bucket/after.txt && sync')).exitCode,
      ).toBe(0);
      expect(await objectText('fuse/after.txt')).toBe('after-restart\n');

      // A server restart that lost s3fs: a new S3Sync over the same store mounts it again, and the running sandbox
      // sees the bucket again (mount propagation) without being restarted.
      const mountDir = mounts.mountDir(sandbox.id);
      for (const pid of await s3fsPids(mountDir)) process.kill(pid, 'SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await sh(engine, sandbox.id, 'cat /mnt/bucket/existing.txt')).exitCode).not.toBe(0);
      const restarted = new S3Sync({
        runtime,
        store,
        server,
        policy: ssrf,
        logger: silentLogger,
        allowS3: true,
        fuse: new S3FuseMounts({ stateDir: fuseDir, policy: ssrf, logger: silentLogger }),
      });
      expect(await restarted.reconcileMounts(store.listSandboxes())).toEqual({
        mounted: [sandbox.id],
        unmounted: [],
        failed: [],
      });
      expect(await sh(engine, sandbox.id, 'cat /mnt/bucket/existing.txt')).toMatchObject({
        exitCode: 0,
        out: 'was in the bucket\n',
      });
      expect((await sh(engine, sandbox.id, 'echo healed > /mnt/bucket/healed.txt && sync')).exitCode).toBe(0);
      expect(await objectText('fuse/healed.txt')).toBe('healed\n');
    } finally {
      await engine.destroy(sandbox.id);
    }
    expect(await mounts.isMounted(sandbox.id)).toBe(false);
    expect(await mounts.list()).toEqual([]);
    expect(await mounts.release()).toBe(true);
  }, 300_000);
});

/** Pids of the s3fs processes serving a mount directory. */
async function s3fsPids(mountDir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (argv.startsWith('s3fs\0') && argv.includes(mountDir)) pids.push(Number(entry));
  }
  return pids;
}

describe('a real server', () => {
  it('uploads hooks sandboxes when it shuts down with destroy-on-exit', async () => {
    const dataDir = join(workDir, 'server');
    const config = loadConfig({
      env: {},
      flags: {
        data_dir: dataDir,
        destroy_on_exit: true,
        server: { port: 0 },
        runtime: { default_network_mode: 'none', network_id: 'burrow-test' },
        sandbox: { default_image: BUSYBOX_IMAGE, build_default_image: false },
        log: { level: 'error', format: 'json' },
        s3: {
          endpoint: s3.endpoint,
          access_key: S3RVER_KEY,
          secret_key: S3RVER_SECRET,
          allow_internal_endpoint: true,
        },
      },
    });
    const running = await startServer(config);
    let closed = false;
    try {
      const created = await fetch(`${running.url}/api/v1/sandboxes`, {
        method: 'POST',
        body: JSON.stringify({ storage: { s3: { bucket: BUCKET, prefix: 'shutdown', mode: 'hooks' } } }),
      });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      const put = await fetch(
        `${running.url}/api/v1/sandboxes/${id}/files?path=/home/sandbox/out/result.txt`,
        {
          method: 'PUT',
          body: 'written before shutdown',
        },
      );
      expect(put.status).toBe(200);
      await running.close();
      closed = true;
      expect(await objectText('shutdown/out/result.txt')).toBe('written before shutdown');
    } finally {
      if (!closed) await running.close({ destroySandboxes: true });
    }
  }, 120_000);
});
