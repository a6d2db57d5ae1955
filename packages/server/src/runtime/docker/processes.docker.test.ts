/**
 * Background processes belong to the sandbox, not to the server: on the real engine, a process keeps running and
 * printing while no server listens, and a restarted server (a new DockerRuntime over the same state) lists it and
 * replays its output, because the agent reconnects to the new listener.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../../ids.js';
import { DEBIAN_IMAGE, testDockerRuntime } from '../../test-support/docker-runtime.js';
import type { DockerRuntime } from './docker-runtime.js';

let first: DockerRuntime;
let reopen: () => Promise<DockerRuntime>;
let cleanup: () => Promise<void>;
const id = newSandboxId();

beforeAll(async () => {
  ({ runtime: first, reopen, cleanup } = await testDockerRuntime('socket'));
  await first.create(id, { image: DEBIAN_IMAGE });
  await first.start(id);
});

afterAll(async () => {
  await first.remove(id).catch(() => undefined);
  await cleanup();
});

describe('a background process across a server restart', () => {
  it('keeps running while no server listens and is listed and replayed by the next one', async () => {
    const started = await first.startProcess(id, {
      cmd: ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'],
      tag: 'ticker',
    });
    first.close();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const second = await reopen();
    try {
      const listed = await second.listProcesses(id);
      expect(listed.find((info) => info.id === started.id)).toMatchObject({ running: true, tag: 'ticker' });
      const reader = await second.attachProcess(id, started.id, { replay: true });
      let text = '';
      for await (const event of reader) {
        if (event.type === 'stdout') text += event.data.toString();
        if (text.split('\n').length > 12) break;
      }
      await reader.close();
      // It printed while no server was listening: the ticks started at 0 and go on past the pause.
      expect(text.startsWith('tick 0\n')).toBe(true);
      expect(text).toContain('tick 10\n');
      await second.killProcess(id, started.id);
      expect((await second.waitProcess(id, started.id, 10_000)).exitCode).toBe(137);
    } finally {
      second.close();
    }
  });
});
