/**
 * Before each test file of the tiers on the real engine: the engine must still create and remove a container
 * within a deadline. An engine that stopped answering (a wedged daemon) would otherwise make every later test wait
 * out its own timeout, one after another, for hours; this fails the file at once instead, and prints what the host
 * looks like (scripts/host-report.sh), so that the cause can be read from the run's output.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Dockerode from 'dockerode';
import { beforeAll } from 'vitest';

const DEADLINE_MS = 45_000;
const PROBE_IMAGE = 'burrow-test/busybox:latest';
const REPORT = fileURLToPath(new URL('../../scripts/host-report.sh', import.meta.url));

async function probe(docker: Dockerode): Promise<void> {
  await docker.ping();
  const container = await docker.createContainer({
    Image: PROBE_IMAGE,
    Cmd: ['true'],
    Labels: { 'burrow.test-probe': 'true' },
    HostConfig: { NetworkMode: 'none' },
  });
  await container.remove({ force: true });
}

beforeAll(async () => {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`it did not create and remove a container within ${DEADLINE_MS / 1000} s`)),
      DEADLINE_MS,
    );
  });
  try {
    await Promise.race([probe(new Dockerode()), deadline]);
  } catch (error) {
    const report = execFileSync('bash', [REPORT], { encoding: 'utf8', timeout: 90_000 });
    console.error(`the Docker engine failed its health check: ${(error as Error).message}\n${report}`);
    throw new Error(
      `the Docker engine failed its health check before this file: ${(error as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
}, DEADLINE_MS + 100_000);
