/**
 * The managed networks as a series: a bridge takes at most 1024 ports, so sandboxes spill over to the next network
 * of their mode once one is full, fill a network again once sandboxes left it, and pruning removes every empty one.
 * The size of a network is made 2 here so the spill is cheap to reach.
 */
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../../ids.js';
import { BUSYBOX_IMAGE, testDockerRuntime } from '../../test-support/docker-runtime.js';
import type { DockerRuntime } from './docker-runtime.js';
import { containerName } from './labels.js';

const docker = new Dockerode();
let runtime: DockerRuntime;
let prefix: string;
let cleanup: () => Promise<void>;
const made: string[] = [];

beforeAll(async () => {
  const test = await testDockerRuntime('socket', { sandboxesPerNetwork: 2 });
  ({ runtime, cleanup } = test);
  prefix = test.networkPrefix;
});

afterAll(async () => {
  for (const id of made) await runtime.remove(id).catch(() => undefined);
  await cleanup();
});

async function sandbox(): Promise<string> {
  const id = newSandboxId();
  made.push(id);
  await runtime.create(id, { image: BUSYBOX_IMAGE, networkMode: 'internal' });
  await runtime.start(id);
  return id;
}

async function networkOf(id: string): Promise<string> {
  const inspect = await docker.getContainer(containerName(id)).inspect();
  return Object.keys(inspect.NetworkSettings.Networks).join(',');
}

async function ownNetworks(): Promise<string[]> {
  const networks = await docker.listNetworks();
  return networks
    .map((network) => network.Name)
    .filter((name) => name.startsWith(`${prefix}-`))
    .sort();
}

describe('managed networks of a mode', () => {
  it('spill over to the next network when one is full, and fill it again once sandboxes left', async () => {
    const first = await sandbox();
    const second = await sandbox();
    const third = await sandbox();
    expect(await networkOf(first)).toBe(`${prefix}-internal`);
    expect(await networkOf(second)).toBe(`${prefix}-internal`);
    expect(await networkOf(third)).toBe(`${prefix}-internal-1`);

    await runtime.remove(first);
    made.splice(made.indexOf(first), 1);
    const fourth = await sandbox();
    expect(await networkOf(fourth)).toBe(`${prefix}-internal`);
  });

  it('are all pruned once empty', async () => {
    expect(await ownNetworks()).toEqual([`${prefix}-internal`, `${prefix}-internal-1`]);
    for (const id of made.splice(0)) await runtime.remove(id);
    await runtime.pruneNetworks();
    expect(await ownNetworks()).toEqual([]);
  });
});
