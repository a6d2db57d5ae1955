/**
 * Global setup of the tiers that need a Docker engine: the engine must answer (a missing engine fails the run,
 * never skips it), the test images must exist, and no sandbox may be left behind when the run ends.
 *
 * Several runs may share one engine (two developers, or the docker and e2e tiers side by side). Each run gets an id
 * in TEST_BURROW_RUN, which the test runtimes and servers put into their `burrow.instance` label; the leftover check
 * and its clean-up look at this run's containers only, so one run never removes another's sandboxes.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Dockerode from 'dockerode';

const docker = new Dockerode();
const TEST_IMAGES = ['burrow-test/busybox:latest', 'burrow-test/debian:latest', 'burrow-test/empty:latest'];

export async function setup(): Promise<() => Promise<void>> {
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `These tests need a Docker engine and none answers (${String(error)}). Run "bash scripts/setup-host.sh" to install and start one.`,
    );
  }
  const missing = [];
  for (const image of TEST_IMAGES) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      missing.push(image);
    }
  }
  if (missing.length > 0) {
    const script = fileURLToPath(new URL('../../images/build-test-images.sh', import.meta.url));
    execFileSync('bash', [script], { stdio: 'inherit' });
  }
  const run = randomBytes(4).toString('hex');
  // Workers are started after global setup and inherit this. Not BURROW_*: a server would read that as config.
  process.env.TEST_BURROW_RUN = run;
  return async () => {
    const leftovers = await docker.listContainers({ all: true, filters: { label: ['burrow.managed=true'] } });
    const leaked = leftovers.filter((container) =>
      (container.Labels['burrow.instance'] ?? '').includes(`-${run}-`),
    );
    await Promise.all(
      leaked.map((container) =>
        docker
          .getContainer(container.Id)
          .remove({ force: true })
          .catch(() => undefined),
      ),
    );
    if (leaked.length > 0) {
      throw new Error(
        `tests left ${leaked.length} sandbox container(s) behind: ${leaked.map((c) => c.Names[0]).join(', ')}`,
      );
    }
  };
}
