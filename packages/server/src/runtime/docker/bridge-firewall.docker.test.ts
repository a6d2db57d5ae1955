/**
 * The bridge firewall on the real kernel: a bridge-mode sandbox without a policy reaches the Debian mirror, but not
 * a server in another container on a private network the test made, nor a server on the host's own address; both
 * fail at once. The rules that refuse the metadata address sit in the same chain (checked as installed, so no
 * packet is ever sent towards an address that is not this machine's). Removing the network removes the rules.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../../ids.js';
import { silentLogger } from '../../logger.js';
import { BUSYBOX_IMAGE, DEBIAN_IMAGE, testDockerRuntime } from '../../test-support/docker-runtime.js';
import { BridgeFirewall, chainNames } from './bridge-firewall.js';
import type { DockerRuntime } from './docker-runtime.js';

const docker = new Dockerode();
const otherNetwork = `burrow-test-fw-${randomBytes(4).toString('hex')}`;
let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
let other: Dockerode.Container;
let otherIp: string;
let hostServer: Server;
let hostPort: number;
let prefix: string;

const PROBE = `
import json, socket, sys, time
out = []
for target in sys.argv[1:]:
    host, port = target.rsplit(':', 1)
    started = time.time()
    try:
        socket.create_connection((host, int(port)), timeout=8).close()
        out.append(['connected', round(time.time() - started, 2)])
    except OSError as e:
        out.append([e.errno, round(time.time() - started, 2)])
print(json.dumps(out))
`;

beforeAll(async () => {
  const target = await testDockerRuntime('socket', {
    bridgeFirewall: new BridgeFirewall({ allowRanges: [], logger: silentLogger }),
  });
  runtime = target.runtime;
  cleanup = target.cleanup;
  prefix = target.networkPrefix;
  await docker.createNetwork({ Name: otherNetwork, Driver: 'bridge', Labels: { 'burrow.test': 'true' } });
  other = await docker.createContainer({
    Image: BUSYBOX_IMAGE,
    Cmd: [
      'sh',
      '-c',
      'mkdir -p /tmp/www && echo ok > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www',
    ],
    HostConfig: { NetworkMode: otherNetwork, AutoRemove: false },
    Labels: { 'burrow.test': 'true' },
  });
  await other.start();
  otherIp = ((await other.inspect()).NetworkSettings.Networks[otherNetwork]?.IPAddress ?? '') as string;
  hostServer = createServer((_request, response) => response.end('host'));
  await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
  hostPort = (hostServer.address() as AddressInfo).port;
});

afterAll(async () => {
  hostServer?.close();
  await other?.remove({ force: true }).catch(() => undefined);
  await docker
    .getNetwork(otherNetwork)
    .remove()
    .catch(() => undefined);
  await cleanup?.();
});

describe('the bridge network firewall', () => {
  it('lets a bridge sandbox reach the Debian mirror but not private ranges or the host, failing at once', async () => {
    // Both servers answer when asked from the host, so a refusal below is the firewall's.
    expect(await (await fetch(`http://${otherIp}:8080/`)).text()).toBe('ok\n');
    const id = newSandboxId();
    await runtime.create(id, { image: DEBIAN_IMAGE, networkMode: 'bridge' });
    try {
      await runtime.start(id);
      const gateway = (await runtime.info(id)).ip.replace(/\.\d+$/, '.1');
      expect(await (await fetch(`http://${gateway}:${hostPort}/`)).text()).toBe('host');
      const probe = await runtime.exec(id, {
        cmd: ['python3', '-c', PROBE, `${otherIp}:8080`, `${gateway}:${hostPort}`],
      });
      const results = JSON.parse(probe.stdout.toString()) as [number | string, number][];
      for (const [outcome, seconds] of results) {
        expect([113, 111, 13]).toContain(outcome); // EHOSTUNREACH / ECONNREFUSED / EACCES: refused, not dropped
        expect(seconds).toBeLessThan(1);
      }
      const mirror = await runtime.exec(id, {
        cmd: [
          'python3',
          '-c',
          'import urllib.request; print(urllib.request.urlopen("http://deb.debian.org/debian/", timeout=30).status)',
        ],
      });
      expect(mirror.stdout.toString().trim()).toBe('200');
      const network = Object.keys(
        (await docker.getContainer(`burrow-${id}`).inspect()).NetworkSettings.Networks,
      )[0];
      const { forward } = chainNames(network ?? '');
      const rules = execFileSync('iptables', ['-S', forward]).toString();
      expect(rules).toContain('-A ' + forward + ' -d 169.254.169.254/32 -j REJECT');
      expect(execFileSync('iptables', ['-S', 'DOCKER-USER']).toString()).toContain(`burrow:${network}`);
    } finally {
      await runtime.remove(id);
    }
    const network = `${prefix}-bridge`;
    expect(execFileSync('iptables', ['-S']).toString()).toContain(`burrow:${network}`);
    await runtime.pruneNetworks();
    expect(execFileSync('iptables', ['-S']).toString()).not.toContain(`burrow:${network}`);
  });
});
