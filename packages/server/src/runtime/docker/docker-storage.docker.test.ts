/**
 * Files, snapshots and storage settings on the real engine, in both test images: large streamed files, hostile
 * names, symlinks that must resolve inside the sandbox, volumes, tmpfs and the disk limit.
 */
import { createHash, randomBytes } from 'node:crypto';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../../ids.js';
import { BUSYBOX_IMAGE, DEBIAN_IMAGE, testDockerRuntime } from '../../test-support/docker-runtime.js';
import { expectCode } from '../contract.test-suite.js';
import type { SandboxConfig } from '../runtime.js';
import type { DockerRuntime } from './docker-runtime.js';

const docker = new Dockerode();
let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
const created: string[] = [];
const volumeName = `storage-test-${randomBytes(4).toString('hex')}`;

async function sandbox(config: Partial<SandboxConfig> = {}): Promise<string> {
  const id = newSandboxId();
  created.push(id);
  await runtime.create(id, { image: BUSYBOX_IMAGE, ...config });
  await runtime.start(id);
  return id;
}

async function sha256(body: AsyncIterable<Buffer | Uint8Array>): Promise<{ digest: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { digest: hash.digest('hex'), bytes };
}

async function text(id: string, cmd: string[]): Promise<string> {
  const result = await runtime.exec(id, { cmd });
  return result.stdout.toString();
}

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('socket'));
});

afterAll(async () => {
  await Promise.all(created.map((id) => runtime.remove(id)));
  await docker
    .getVolume(`burrow-${volumeName}`)
    .remove()
    .catch(() => undefined);
  await cleanup();
});

for (const image of [BUSYBOX_IMAGE, DEBIAN_IMAGE]) {
  describe(`files in ${image}`, () => {
    let id: string;
    beforeAll(async () => {
      id = await sandbox({ image });
    });

    it('round-trips 100 MB of random bytes, streamed both ways', async () => {
      const chunk = randomBytes(1024 * 1024);
      const expected = createHash('sha256');
      async function* hundredMegabytes() {
        for (let i = 0; i < 100; i++) {
          const part = Buffer.from(chunk);
          part.writeUInt32BE(i, 0);
          expected.update(part);
          yield part;
        }
      }
      const { bytes } = await runtime.writeFile(id, '/tmp/big.bin', hundredMegabytes());
      expect(bytes).toBe(100 * 1024 * 1024);
      const read = await runtime.readFile(id, '/tmp/big.bin');
      expect(read.info.size).toBe(100 * 1024 * 1024);
      const actual = await sha256(read.body);
      expect(actual).toEqual({ digest: expected.digest('hex'), bytes: 100 * 1024 * 1024 });
      expect((await text(id, ['wc', '-c', '/tmp/big.bin'])).trim()).toMatch(/^104857600 /);
      await runtime.removeFile(id, '/tmp/big.bin');
    });

    it('resolves a symlink to /etc/shadow inside the sandbox, never on the host', async () => {
      await runtime.exec(id, { cmd: ['ln', '-s', '/etc/shadow', '/tmp/shadow-link'] });
      await runtime.exec(id, { cmd: ['ln', '-s', '/etc/hostname', '/tmp/hostname-link'] });
      const read = await runtime.readFile(id, '/tmp/hostname-link');
      expect((await sha256(read.body)).bytes).toBe((await text(id, ['cat', '/etc/hostname'])).length);
      const stat = await runtime.stat(id, '/tmp/shadow-link');
      expect(stat).toMatchObject({ isSymlink: true, linkTarget: '/etc/shadow' });
      // Whatever /etc/shadow the image has (none in busybox) is what the link gives: never the host's.
      const inside = await runtime.exec(id, { cmd: ['cat', '/etc/shadow'] });
      const viaLink = await runtime.readFile(id, '/tmp/shadow-link').then(
        async (file) => (await sha256(file.body)).digest,
        (error: { code?: string }) => error.code,
      );
      if (inside.exitCode === 0) {
        expect(viaLink).toBe(createHash('sha256').update(inside.stdout).digest('hex'));
      } else {
        expect(viaLink).toBe('FILE_NOT_FOUND');
      }
    });

    it('treats non-UTF-8 bytes and shell syntax in names as data', async () => {
      const name = Buffer.concat([
        Buffer.from('/tmp/raw-'),
        Buffer.from([0xff, 0xfe, 0x80]),
        Buffer.from(" $(id) 'q'\n"),
      ]);
      await runtime.writeFile(id, name, 'raw');
      const { entries } = await runtime.listDir(id, '/tmp');
      expect(entries.some((entry) => entry.name.startsWith('raw-'))).toBe(true);
      const read = await runtime.readFile(id, name);
      expect((await sha256(read.body)).bytes).toBe(3);
      await runtime.removeFile(id, name);
      await expectCode(runtime.stat(id, name), 'FILE_NOT_FOUND');
    });

    it('refuses relative paths, NUL bytes and .. escapes', async () => {
      await expectCode(runtime.readFile(id, 'etc/passwd'), 'INVALID_PATH');
      await expectCode(runtime.readFile(id, '/tmp/a\0b'), 'INVALID_PATH');
      await expectCode(runtime.writeFile(id, '/tmp/../../etc/x', 'x'), 'INVALID_PATH');
    });

    it('writes as the image user where that user may, and says READ_ONLY on the read-only root', async () => {
      await expectCode(runtime.writeFile(id, '/etc/burrow-test', 'x'), 'READ_ONLY');
      await runtime.writeFile(id, '/home/sandbox/notes/today.txt', 'hello');
      expect(await text(id, ['cat', '/home/sandbox/notes/today.txt'])).toBe('hello');
    });
  });
}

describe('storage settings', () => {
  it('shares a named volume between sandboxes, read-only where asked, and keeps it after removal', async () => {
    const writer = await sandbox({
      storage: { volumes: [{ name: volumeName, mountPath: '/data', readOnly: false }] },
    });
    await runtime.writeFile(writer, '/data/shared.txt', 'from the writer');
    const reader = await sandbox({
      storage: { volumes: [{ name: volumeName, mountPath: '/data', readOnly: true }] },
    });
    const read = await runtime.readFile(reader, '/data/shared.txt');
    expect((await sha256(read.body)).bytes).toBe('from the writer'.length);
    await expectCode(runtime.writeFile(reader, '/data/other.txt', 'x'), 'READ_ONLY');
    const denied = await runtime.exec(reader, { cmd: ['sh', '-c', 'echo x > /data/other.txt'] });
    expect(denied.exitCode).not.toBe(0);
    await runtime.remove(writer);
    await runtime.remove(reader);
    const again = await sandbox({
      storage: { volumes: [{ name: volumeName, mountPath: '/data', readOnly: false }] },
    });
    expect(await text(again, ['cat', '/data/shared.txt'])).toBe('from the writer');
    const volume = await docker.getVolume(`burrow-${volumeName}`).inspect();
    expect(volume.Labels).toMatchObject({ 'burrow.managed': 'true' });
  });

  it('applies per-sandbox tmpfs sizes and extra mounts', async () => {
    const id = await sandbox({
      storage: {
        tmpfs: [
          { path: '/tmp', size: '8m' },
          { path: '/scratch', size: '4m' },
        ],
      },
    });
    const df = await text(id, ['df', '-k', '/tmp', '/scratch']);
    const sizes = df
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => Number(line.trim().split(/\s+/)[1]));
    expect(sizes).toEqual([8192, 4096]);
    const full = await runtime.exec(id, { cmd: ['sh', '-c', 'head -c 6000000 /dev/zero > /scratch/fill'] });
    expect(full.exitCode).not.toBe(0);
    await expectCode(runtime.writeFile(id, '/scratch/more', Buffer.alloc(5 * 1024 * 1024)), 'NO_SPACE');
  });

  it('refuses a disk limit the storage driver cannot enforce, saying so', async () => {
    const info = await docker.info();
    const id = newSandboxId();
    const attempt = runtime.create(id, { image: BUSYBOX_IMAGE, diskLimit: 1024 ** 3 });
    if (info.Driver === 'overlay2' && !JSON.stringify(info.DriverStatus).includes('xfs')) {
      await expect(attempt).rejects.toMatchObject({ code: 'POLICY_VIOLATION' });
      await expect(attempt).rejects.toThrow(/disk_limit cannot be enforced/);
      const left = await docker.listContainers({ all: true, filters: { label: [`burrow.id=${id}`] } });
      expect(left).toEqual([]);
    } else {
      created.push(id);
      await attempt;
    }
  });

  it('snapshots the writable layer and tmpfs together with limits and env, and restores them', async () => {
    const id = await sandbox({
      writableRootfs: true,
      memory: 96 * 1024 * 1024,
      env: { ORIGIN: 'layered' },
    });
    await runtime.writeFile(id, '/opt/layer.txt', 'in the writable layer');
    await runtime.writeFile(id, '/tmp/tmpfs.txt', 'in tmpfs');
    const snapshot = await runtime.snapshot(id, 'both');
    const restored = await runtime.restore(snapshot.id);
    created.push(restored);
    expect(await text(restored, ['cat', '/opt/layer.txt', '/tmp/tmpfs.txt'])).toBe(
      'in the writable layerin tmpfs',
    );
    expect((await text(restored, ['env'])).split('\n')).toContain('ORIGIN=layered');
    expect((await runtime.stats(restored)).memoryLimit).toBe(96 * 1024 * 1024);
    // The original is untouched by changes to the restored copy.
    await runtime.writeFile(restored, '/tmp/tmpfs.txt', 'changed');
    expect(await text(id, ['cat', '/tmp/tmpfs.txt'])).toBe('in tmpfs');
    await runtime.removeSnapshot(snapshot.id);
    expect((await runtime.listSnapshots(id)).map((s) => s.id)).not.toContain(snapshot.id);
    await expectCode(runtime.restore(snapshot.id), 'SNAPSHOT_NOT_FOUND');
  });
});
