/**
 * The trust boundary on the real engine: code inside a sandbox (root, in a root image) cannot redirect the agent
 * channel to another sandbox, cannot write to the host through any mounted host directory, and a non-root process
 * cannot reach the channel at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../../ids.js';
import { BUSYBOX_IMAGE, DEBIAN_IMAGE, testDockerRuntime } from '../../test-support/docker-runtime.js';
import type { SandboxConfig } from '../runtime.js';
import type { DockerRuntime } from './docker-runtime.js';

let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
const created: string[] = [];

async function sandbox(config: Partial<SandboxConfig> = {}): Promise<string> {
  const id = newSandboxId();
  created.push(id);
  await runtime.create(id, { image: BUSYBOX_IMAGE, ...config });
  await runtime.start(id);
  return id;
}

async function sh(id: string, script: string): Promise<{ out: string; code: number }> {
  const result = await runtime.exec(id, { cmd: ['sh', '-c', script] });
  return { out: result.stdout.toString() + result.stderr.toString(), code: result.exitCode };
}

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('socket'));
});

afterAll(async () => {
  await Promise.all(created.map((id) => runtime.remove(id).catch(() => undefined)));
  runtime.close();
  await cleanup();
});

describe('the agent channel', () => {
  it('cannot be replaced or redirected by root in the sandbox', async () => {
    const victim = await sandbox();
    const attacker = await sandbox();
    await runtime.writeFile(victim, '/tmp/secret', 'victim data');
    // What a root attacker tries: swap the socket for a link to another sandbox's, or plant files next to it.
    const attempts = await sh(
      attacker,
      [
        'id -u',
        `rm -f /.burrow/channel/agent.sock 2>&1 || true`,
        `ln -sf /host/${victim}/agent.sock /.burrow/channel/agent.sock 2>&1 || true`,
        `mv /.burrow/channel/agent.sock /.burrow/channel/moved 2>&1 || true`,
        `touch /.burrow/channel/planted 2>&1 || true`,
        `mkdir /.burrow/channel/dir 2>&1 || true`,
        'ls -A /.burrow/channel',
      ].join('; '),
    );
    expect(attempts.out.split('\n')[0]).toBe('0');
    expect(attempts.out).toMatch(/Read-only file system/);
    expect(attempts.out.trim().split('\n').at(-1)).toBe('agent.sock');
    // Calls for the attacker still land in the attacker, never in the victim.
    expect((await sh(attacker, 'cat /tmp/secret 2>&1; hostname')).out).toMatch(/No such file/);
    expect((await sh(victim, 'cat /tmp/secret')).out).toBe('victim data');
  });

  it('is out of reach of a non-root process in the sandbox', async () => {
    const id = await sandbox({ image: DEBIAN_IMAGE });
    const probe = await runtime.exec(id, {
      cmd: [
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'sh',
        '-c',
        'id -u; ls /.burrow/channel/ 2>&1; test -w /.burrow/channel/agent.sock && echo writable || echo denied',
      ],
    });
    const lines = probe.stdout.toString().trim().split('\n');
    expect(lines[0]).toBe('65534');
    expect(lines.join('\n')).toMatch(/Permission denied/);
    expect(lines.at(-1)).toBe('denied');
  });
});

describe('host directories', () => {
  it('none mounted into a sandbox is writable by it, so it cannot fill the host disk', async () => {
    const id = await sandbox();
    // Every mount backed by a host filesystem (not tmpfs, proc, sysfs, ...) must be read-only.
    const mounts = (await sh(id, 'cat /proc/self/mountinfo')).out.trim().split('\n');
    const virtual = new Set(['tmpfs', 'proc', 'sysfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2', 'overlay']);
    const hostMounts = mounts
      .map((line) => {
        const [before, after] = line.split(' - ');
        const fields = (before ?? '').split(' ');
        return {
          target: fields[4] ?? '',
          options: fields[5] ?? '',
          fstype: (after ?? '').split(' ')[0] ?? '',
        };
      })
      .filter((mount) => !virtual.has(mount.fstype));
    expect(hostMounts.map((mount) => mount.target)).toContain('/.burrow/channel');
    for (const mount of hostMounts)
      expect({ ...mount, rw: mount.options.split(',').includes('rw') }).toMatchObject({ rw: false });
    const writes = await sh(
      id,
      hostMounts
        .map((mount) => `dd if=/dev/zero of=${mount.target}/.fill bs=1k count=1 2>&1 || true`)
        .join('; '),
    );
    expect(writes.out).not.toMatch(/records out/);
  });
});
