import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DockerRuntime,
  type AgentTransport,
  type DockerRuntimeOptions,
} from '../runtime/docker/docker-runtime.js';

export const BUSYBOX_IMAGE = 'burrow-test/busybox:latest';
export const DEBIAN_IMAGE = 'burrow-test/debian:latest';
export const EMPTY_IMAGE = 'burrow-test/empty:latest';

/** A DockerRuntime over the real engine with a private state directory, removed by `cleanup`. */
export async function testDockerRuntime(
  transport: AgentTransport = 'socket',
  extra: Partial<Pick<DockerRuntimeOptions, 'egress' | 'bridgeFirewall'>> = {},
) {
  const stateDir = await mkdtemp(join(tmpdir(), 'burrow-test-'));
  // The test run's id (test/setup/docker.ts) lets the global teardown find this run's leftovers only.
  const instance = `test-${process.env.TEST_BURROW_RUN ?? 'norun'}-${randomBytes(4).toString('hex')}`;
  // A network prefix of its own, so pruning at cleanup never removes a network another test run is using.
  const options: DockerRuntimeOptions = {
    stateDir,
    transport,
    networkPrefix: `burrow-${instance}`,
    instance,
    ...extra,
  };
  const runtime = await DockerRuntime.open(options);
  return {
    runtime,
    stateDir,
    networkPrefix: options.networkPrefix ?? 'burrow',
    /** A second runtime over the same state and sandboxes, as a restarted server opens it. */
    reopen: () => DockerRuntime.open(options),
    cleanup: async () => {
      runtime.close();
      await runtime.pruneNetworks().catch(() => undefined);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
