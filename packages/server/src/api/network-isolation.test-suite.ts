/**
 * Network modes as documented: `none` has no network, `internal` no egress, `bridge` NAT egress; sandboxes never
 * reach each other; ports are published on 127.0.0.1 by the server in every mode. On the fake
 * (network-isolation.test.ts: what it can express) and on Docker (network-isolation.docker.test.ts: real traffic, to
 * sandboxes and an outside host the test creates, never a real one).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../test-support/free-port.js';
import { startOutsideHost, type OutsideHost } from '../test-support/outside-host.js';
import { dockerOnly } from './test-support/cases.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

const json = (body: unknown): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
});

/** An HTTP GET from inside a sandbox with busybox nc (3 s to connect): its exit code and the response. */
const GET = 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$0" "$1"';

export function networkIsolationSuite(kind: RuntimeKind): void {
  let api: Harness;
  let outside: OutsideHost | undefined;
  beforeAll(async () => {
    // Bridge as the server's default, so a request may ask for any of the three modes.
    api = await startApi({ runtime: kind, policy: { defaultNetworkMode: 'bridge' } });
  });
  afterAll(async () => {
    await outside?.stop();
    await api.close();
  });

  async function create(body: Record<string, unknown>): Promise<string> {
    const response = await api.call('/api/v1/sandboxes', json(body));
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  }

  async function detail(id: string): Promise<{ ip?: string; network_mode: string }> {
    return (await (await api.call(`/api/v1/sandboxes/${id}`)).json()) as {
      ip?: string;
      network_mode: string;
    };
  }

  async function get(
    id: string,
    address: string,
    port: number,
  ): Promise<{ exitCode: number; stdout: string }> {
    const result = await api.engine.exec(id, {
      cmd: ['sh', '-c', GET, address, String(port)],
      timeoutMs: 20_000,
    });
    return { exitCode: result.exitCode, stdout: result.stdout.toString() };
  }

  /** A sandbox serving `page` on port 8080 with busybox httpd as its main process. */
  async function server(mode: string, page: string, extra: Record<string, unknown> = {}): Promise<string> {
    const id = await create({
      network_mode: mode,
      cmd: ['httpd', '-f', '-p', '8080', '-h', '/tmp'],
      ...extra,
    });
    await api.engine.writeFile(id, '/tmp/index.html', page);
    return id;
  }

  describe('network modes', () => {
    it('gives internal and bridge sandboxes an address on their network, and none without a network', async () => {
      for (const mode of ['internal', 'bridge']) {
        const view = await detail(await create({ network_mode: mode }));
        expect(view.network_mode).toBe(mode);
        expect(view.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      }
      const isolated = await detail(await create({ network_mode: 'none' }));
      expect(isolated).toMatchObject({ network_mode: 'none' });
      expect(isolated.ip).toBeUndefined();
    });

    const onDocker = dockerOnly(kind, 'the fake has no network stack');

    onDocker('reaches a host beyond this machine from bridge, and not from internal or none', async () => {
      outside ??= await startOutsideHost();
      // Positive control: NAT egress works, so a failure below is the isolation, not the probe.
      const bridge = await get(await create({ network_mode: 'bridge' }), outside.address, outside.port);
      expect(bridge.exitCode).toBe(0);
      expect(bridge.stdout).toContain(outside.body);
      for (const mode of ['internal', 'none']) {
        const blocked = await get(await create({ network_mode: mode }), outside.address, outside.port);
        expect([mode, blocked.exitCode === 0, blocked.stdout.includes(outside.body)]).toEqual([
          mode,
          false,
          false,
        ]);
      }
    });

    onDocker(
      'gives gVisor sandboxes the same modes: bridge reaches the outside host, internal and none do not',
      async () => {
        outside ??= await startOutsideHost();
        const target = outside;
        // Python's HTTP client (busybox wget's reads fail with EAGAIN on gVisor's passthrough of the host network).
        const client =
          'import sys, urllib.request as u; print(u.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/", timeout=5).read().decode())';
        const results: [string, number, boolean][] = [];
        for (const mode of ['bridge', 'internal', 'none']) {
          const id = await create({ network_mode: mode, runtime: 'gvisor', image: api.otherImage });
          expect((await detail(id)) as unknown).toMatchObject({ runtime: 'gvisor', network_mode: mode });
          const result = await api.engine.exec(id, {
            cmd: ['python3', '-c', client, target.address, String(target.port)],
            timeoutMs: 30_000,
          });
          results.push([mode, result.exitCode, result.stdout.toString().includes(target.body)]);
        }
        expect(results.map(([mode, code, reached]) => [mode, code === 0, reached])).toEqual([
          ['bridge', true, true],
          ['internal', false, false],
          ['none', false, false],
        ]);
      },
    );

    onDocker('blocks traffic between sandboxes on the managed internal and bridge networks', async () => {
      for (const mode of ['internal', 'bridge']) {
        const page = `served on ${mode}\n`;
        const target = await server(mode, page);
        const address = (await detail(target)).ip ?? '';
        // Positive control: the server answers on its network address.
        const itself = await get(target, address, 8080);
        expect([mode, itself.stdout.includes(page)]).toEqual([mode, true]);
        const neighbour = await get(await create({ network_mode: mode }), address, 8080);
        expect([mode, neighbour.exitCode === 0, neighbour.stdout.includes(page)]).toEqual([
          mode,
          false,
          false,
        ]);
      }
    });

    onDocker(
      'publishes ports on 127.0.0.1 in every network mode, none included (the server publishes them)',
      async () => {
        for (const mode of ['bridge', 'internal', 'none']) {
          const port = await freePort();
          await server(mode, `published from ${mode}\n`, {
            ports: [{ sandbox_port: 8080, host_port: port }],
          });
          await expect
            .poll(
              async () =>
                fetch(`http://127.0.0.1:${port}/`).then(
                  async (response) => response.text(),
                  () => '',
                ),
              { timeout: 10_000 },
            )
            .toBe(`published from ${mode}\n`);
        }
      },
    );
  });
}
