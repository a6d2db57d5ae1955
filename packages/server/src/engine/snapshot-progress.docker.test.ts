/**
 * Progress of the snapshot and restore of a sandbox with much data, on the real engine: the runtime reports the
 * bytes as it archives and refills tmpfs contents and the layer it commits, and the engine turns that into log lines
 * at an interval (nothing for work that ends within one).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Logger } from '../logger.js';
import { logProgress } from '../progress/progress.js';
import type { DockerRuntime } from '../runtime/docker/docker-runtime.js';
import type { SnapshotProgress } from '../runtime/runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { BUSYBOX_IMAGE, testDockerRuntime } from '../test-support/docker-runtime.js';
import { testPolicy } from '../test-support/policy.js';
import { Engine } from './engine.js';

const MIB = 1024 * 1024;
let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
let dataDir: string;

beforeAll(async () => {
  ({ runtime, cleanup } = await testDockerRuntime('socket'));
  dataDir = mkdtempSync(join(tmpdir(), 'burrow-snapshot-progress-'));
});

afterAll(async () => {
  for (const info of await runtime.list()) await runtime.remove(info.id);
  for (const snapshot of await runtime.listSnapshots()) await runtime.removeSnapshot(snapshot.id);
  await cleanup();
  rmSync(dataDir, { recursive: true, force: true });
});

function recordingLogger() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = {
    debug: (fields, message = '') => lines.push({ level: 'debug', message, fields: fields as never }),
    info: (fields, message = '') => lines.push({ level: 'info', message, fields: fields as never }),
    warn: (fields, message = '') => lines.push({ level: 'warn', message, fields: fields as never }),
    error: (fields, message = '') => lines.push({ level: 'error', message, fields: fields as never }),
    child: () => logger,
  };
  return { logger, lines };
}

it('reports bytes while a large sandbox is snapshotted and restored, as log lines at an interval', async () => {
  const { logger, lines } = recordingLogger();
  const engine = new Engine({
    runtime,
    store: new SqliteStore(join(dataDir, 'state.db')),
    policy: testPolicy({ defaultImage: BUSYBOX_IMAGE, defaultNetworkMode: 'none' }),
    maxSandboxes: 5,
    logger,
    // A short interval so that a test-sized sandbox outlasts a few of them.
    progress: logProgress(logger, { intervalMs: 20, quietStart: true }),
  });
  const sandbox = await engine.create({ image: BUSYBOX_IMAGE });
  const filled = await runtime.exec(sandbox.id, {
    cmd: ['sh', '-c', 'dd if=/dev/urandom of=/tmp/big bs=1M count=96 2>/dev/null && echo ok'],
  });
  expect(filled.stdout.toString()).toBe('ok\n');

  // The runtime's callback: tmpfs bytes growing chunk by chunk, then the commit of the writable layer.
  const events: SnapshotProgress[] = [];
  const direct = await runtime.snapshot(sandbox.id, 'direct', { onProgress: (event) => events.push(event) });
  const tmpfs = events.filter((event) => event.phase === 'tmpfs').map((event) => event.bytes);
  expect(tmpfs.length).toBeGreaterThan(10);
  expect(tmpfs).toEqual([...tmpfs].sort((a, b) => a - b));
  expect(tmpfs.at(-1)).toBeGreaterThanOrEqual(96 * MIB);
  expect(events.at(-1)).toMatchObject({ phase: 'commit', bytes: tmpfs.at(-1) });
  await runtime.removeSnapshot(direct.id);

  // The engine: lines at the interval with the bytes so far, then the outcome.
  const snapshot = await engine.createSnapshot(sandbox.id, 'big');
  const during = lines.filter(
    (line) => line.level === 'info' && line.message.startsWith(`snapshot of ${sandbox.id}: `),
  );
  expect(during.length).toBeGreaterThan(0);
  expect(during[0]?.message).toMatch(
    /^snapshot of \S+: (committing the writable layer \([\d.]+ \w+\), )?[\d.]+ (KiB|MiB) of tmpfs contents saved \(\d+s\)$/,
  );
  expect(during[0]?.fields).toMatchObject({ sandbox: sandbox.id, bytes_done: expect.any(Number) });
  expect(
    lines.find((line) => line.message === `snapshot of ${sandbox.id} done: 96.0 MiB of tmpfs contents saved`),
  ).toBeDefined();

  const restored = await engine.restoreSnapshot(snapshot.id);
  expect(
    lines.find(
      (line) => line.message === `restore of ${snapshot.id} done: 96.0 MiB of tmpfs contents refilled`,
    ),
  ).toMatchObject({
    fields: { snapshot: snapshot.id, sandbox: restored.id, bytes_done: expect.any(Number) },
  });
  const size = await runtime.exec(restored.id, { cmd: ['sh', '-c', 'wc -c < /tmp/big'] });
  expect(size.stdout.toString().trim()).toBe(String(96 * MIB));

  await engine.destroy(restored.id);
  await engine.deleteSnapshot(snapshot.id);
  await engine.destroy(sandbox.id);
});
