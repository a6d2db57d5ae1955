import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import {
  DockerRuntime,
  type AgentTransport,
  type DockerRuntimeOptions,
} from '../runtime/docker/docker-runtime.js';
import type { SandboxConfig } from '../runtime/runtime.js';

export const BUSYBOX_IMAGE = 'burrow-test/busybox:latest';
export const DEBIAN_IMAGE = 'burrow-test/debian:latest';
export const EMPTY_IMAGE = 'burrow-test/empty:latest';

/** A DockerRuntime over the real engine with a private state directory, removed by `cleanup`. */
export async function testDockerRuntime(
  transport: AgentTransport = 'socket',
  extra: Partial<Pick<DockerRuntimeOptions, 'egress' | 'bridgeFirewall' | 'sandboxesPerNetwork'>> = {},
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

/**
 * The busybox test image with `USER sandbox` (uid 1000) and `sleep infinity` as its command, committed locally
 * without a registry under a tag of its own; `remove` deletes it.
 */
export async function testUserImage(): Promise<{ image: string; remove: () => Promise<void> }> {
  const docker = new Dockerode();
  const tag = randomBytes(4).toString('hex');
  const base = await docker.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ['sleep', 'infinity'] });
  try {
    await base.commit({ repo: 'burrow-test/busybox-user', tag, changes: 'USER sandbox' });
  } finally {
    await base.remove();
  }
  const image = `burrow-test/busybox-user:${tag}`;
  return {
    image,
    remove: () =>
      docker
        .getImage(image)
        .remove({ force: true })
        .then(() => undefined),
  };
}

/** The contract's expectations of a Docker target: a user image, and what an idle sandbox's stop reports. */
export async function dockerContractTarget(
  transport: AgentTransport,
  image: string,
  defaults?: Partial<SandboxConfig>,
) {
  const { runtime, cleanup } = await testDockerRuntime(transport);
  const user = await testUserImage();
  // Debian's image command is bash on a terminal, which ignores SIGTERM: killed after the grace (137). Without an
  // image command the agent keeps the sandbox alive and ends with 0; the Engine API path's `sleep infinity`, 143.
  const idleStopExitCode = image === DEBIAN_IMAGE ? 137 : transport === 'engine' ? 143 : 0;
  return {
    runtime,
    image,
    userImage: user.image,
    idleStopExitCode,
    ...(defaults === undefined ? {} : { defaults }),
    cleanup: async () => {
      await cleanup();
      await user.remove();
    },
  };
}
