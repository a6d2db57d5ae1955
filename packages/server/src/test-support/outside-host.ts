/**
 * A host beyond this machine, for egress tests that must not depend on (or touch) real outside hosts: a network
 * namespace behind a veth pair, so traffic to it is forwarded by the host exactly as traffic to the internet is,
 * serving one page with the host's busybox httpd. Needs root and iproute2 (as the docker tier does anyway).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface OutsideHost {
  address: string;
  port: number;
  /** What GET / answers. */
  body: string;
  stop(): Promise<void>;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

async function reachable(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function startOutsideHost(): Promise<OutsideHost> {
  const tag = randomBytes(3).toString('hex');
  const namespace = `burrow-test-${tag}`;
  const [hostSide, farSide] = [`bt${tag}a`, `bt${tag}b`];
  // A /30 of its own in TEST-NET-3 (203.0.113.0/24, reserved for documentation: no real host has it), so two runs
  // side by side do not collide, and Burrow's bridge firewall (which refuses private ranges) lets it through.
  const base = randomInt(0, 64) * 4;
  const prefix = '203.0.113';
  const [near, far] = [`${prefix}.${(base % 256) + 1}`, `${prefix}.${(base % 256) + 2}`];
  const dir = await mkdtemp(join(tmpdir(), 'burrow-outside-'));
  const body = `hello from outside ${tag}\n`;
  await writeFile(join(dir, 'index.html'), body);
  const port = 8080;
  let server: ReturnType<typeof spawn> | undefined;
  const stop = async () => {
    server?.kill('SIGKILL');
    try {
      // Deleting the namespace deletes the veth pair with it.
      ip('netns', 'del', namespace);
    } catch {
      // never created
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    ip('netns', 'add', namespace);
    ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', farSide);
    ip('link', 'set', farSide, 'netns', namespace);
    ip('addr', 'add', `${near}/30`, 'dev', hostSide);
    ip('link', 'set', hostSide, 'up');
    ip('netns', 'exec', namespace, 'ip', 'addr', 'add', `${far}/30`, 'dev', farSide);
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', farSide, 'up');
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up');
    server = spawn(
      'ip',
      ['netns', 'exec', namespace, 'busybox', 'httpd', '-f', '-p', String(port), '-h', dir],
      {
        stdio: 'ignore',
      },
    );
    const deadline = Date.now() + 10_000;
    while (!(await reachable(far, port))) {
      if (Date.now() > deadline) throw new Error(`the outside host ${far}:${port} did not come up`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    await stop();
    throw new Error(
      `could not set up a network namespace as an outside host (needs root, iproute2 and busybox): ${String(error)}`,
      { cause: error },
    );
  }
  return { address: far, port, body, stop };
}
