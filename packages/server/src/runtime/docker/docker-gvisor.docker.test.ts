/**
 * gVisor sandboxes (runtime "gvisor", Debian's runsc) on the real engine: the whole runtime contract and its
 * interactive part, in both network registrations (none, and internal through runsc-net). In CI, runsc must be
 * registered (scripts/setup-host.sh does it): these tests fail, not skip, without it.
 */
import Dockerode from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { runRuntimeContract } from '../contract.test-suite.js';
import { echoServer, runInteractiveContract } from '../interactive-contract.test-suite.js';
import {
  BUSYBOX_IMAGE,
  DEBIAN_IMAGE,
  dockerContractTarget,
  testDockerRuntime,
} from '../../test-support/docker-runtime.js';

describe('the host', () => {
  it('has runsc registered with Docker as runsc and runsc-net', async () => {
    const info = (await new Dockerode().info()) as { Runtimes?: Record<string, unknown> };
    expect(Object.keys(info.Runtimes ?? {})).toEqual(expect.arrayContaining(['runsc', 'runsc-net']));
  });
});

for (const networkMode of ['none', 'internal'] as const) {
  runRuntimeContract(`docker, gVisor (${networkMode}), ${BUSYBOX_IMAGE}`, () =>
    dockerContractTarget('socket', BUSYBOX_IMAGE, { runtime: 'gvisor', networkMode }),
  );
}
runInteractiveContract(`docker, gVisor, ${DEBIAN_IMAGE}`, async () => ({
  ...(await testDockerRuntime('socket')),
  image: DEBIAN_IMAGE,
  defaults: { runtime: 'gvisor', networkMode: 'none' },
  processes: true,
  realShell: true,
  serveEcho: echoServer('python'),
}));

describe('a gVisor sandbox', () => {
  let runtime: Awaited<ReturnType<typeof testDockerRuntime>>['runtime'];
  beforeAll(async () => {
    ({ runtime } = await testDockerRuntime('socket'));
  });

  it('runs on gVisor kernel, not the host one', async () => {
    const id = `gv${Date.now().toString(36)}`.padEnd(20, '0').slice(0, 20);
    await runtime.create(id, { image: BUSYBOX_IMAGE, runtime: 'gvisor', networkMode: 'none' });
    try {
      await runtime.start(id);
      const result = await runtime.exec(id, { cmd: ['dmesg'] });
      expect(result.stdout.toString()).toMatch(/gVisor/);
      expect((await runtime.info(id)).config?.runtime).toBe('gvisor');
    } finally {
      await runtime.remove(id);
    }
  });
});
