/** Snapshots, stats and ports, on the fake (snapshots-stats.test.ts) and on Docker (snapshots-stats.docker.test.ts). */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../test-support/free-port.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function snapshotsAndStatsSuite(kind: RuntimeKind): void {
  let api: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind });
  });
  afterAll(() => api.close());

  const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body) });

  describe('snapshots', () => {
    it('lists [] before any snapshot', async () => {
      const id = await api.sandbox();
      const response = await api.call(`/api/v1/sandboxes/${id}/snapshots`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('[]');
    });

    it('creates (201, with {} or no body), lists, restores (201 Sandbox) and deletes (204)', async () => {
      const id = await api.sandbox();
      await api.engine.writeFile(id, '/tmp/kept', 'snap');
      const named = await api.call(`/api/v1/sandboxes/${id}/snapshots`, json({ name: 'first' }));
      expect(named.status).toBe(201);
      const snapshot = (await named.json()) as Record<string, unknown>;
      expect(Object.keys(snapshot).sort()).toEqual([
        'created_at',
        'id',
        'image_id',
        'name',
        'sandbox_id',
        'size',
      ]);
      expect(snapshot).toMatchObject({ sandbox_id: id, name: 'first' });
      const unnamed = await api.call(`/api/v1/sandboxes/${id}/snapshots`, { method: 'POST' });
      expect(unnamed.status).toBe(201);
      expect(((await unnamed.json()) as { name: string }).name).toBe('');
      // Den keeps an empty name as "" (no generated name).
      const empty = await api.call(`/api/v1/sandboxes/${id}/snapshots`, json({ name: '' }));
      expect(empty.status).toBe(201);
      expect(((await empty.json()) as { name: string }).name).toBe('');

      const list = (await (await api.call(`/api/v1/sandboxes/${id}/snapshots`)).json()) as { id: string }[];
      expect(list.map((entry) => entry.id)).toContain(snapshot.id);

      const restore = await api.call(`/api/v1/snapshots/${String(snapshot.id)}/restore`, { method: 'POST' });
      expect(restore.status).toBe(201);
      const restored = (await restore.json()) as Record<string, unknown>;
      expect(restored).toMatchObject({ status: 'running' });
      expect(restored.id).not.toBe(id);
      expect(Object.keys(restored)).toEqual(
        expect.arrayContaining(['id', 'status', 'image', 'created_at', 'expires_at']),
      );
      const file = await api.call(`/api/v1/sandboxes/${String(restored.id)}/files?path=/tmp/kept`);
      expect(await file.text()).toBe('snap');

      const remove = await api.call(`/api/v1/snapshots/${String(snapshot.id)}`, { method: 'DELETE' });
      expect(remove.status).toBe(204);
      expect(await remove.text()).toBe('');
    });

    it('answers 404 for unknown snapshots and sandboxes, 400 for a bad body', async () => {
      const restore = await api.call('/api/v1/snapshots/snap-nope/restore', { method: 'POST' });
      expect(restore.status).toBe(404);
      expect(((await restore.json()) as { code: string }).code).toBe('SNAPSHOT_NOT_FOUND');
      const remove = await api.call('/api/v1/snapshots/snap-nope', { method: 'DELETE' });
      expect(remove.status).toBe(404);
      const create = await api.call('/api/v1/sandboxes/nope/snapshots', json({}));
      expect(create.status).toBe(404);
      const id = await api.sandbox();
      const bad = await api.call(`/api/v1/sandboxes/${id}/snapshots`, json({ name: 5 }));
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/name/);
    });
  });

  describe('what a restore keeps', () => {
    it("runs the snapshot's image and keeps the lifetime length and the volumes, but not the original's host ports", async () => {
      const bridge = await startApi({ runtime: kind, policy: { defaultNetworkMode: 'bridge' } });
      const volume = `restore-${randomBytes(4).toString('hex')}`;
      try {
        const port = await freePort();
        const created = await bridge.call(
          '/api/v1/sandboxes',
          json({
            image: bridge.otherImage,
            timeout: 120,
            ports: [{ sandbox_port: 8080, host_port: port }],
            storage: { volumes: [{ name: volume, mount_path: '/data' }] },
          }),
        );
        expect(created.status).toBe(201);
        const original = (await created.json()) as { id: string };
        await bridge.engine.writeFile(original.id, '/data/shared.txt', 'in the volume');
        await bridge.engine.writeFile(original.id, '/tmp/own.txt', 'in the snapshot');
        const snapshot = (await (
          await bridge.call(`/api/v1/sandboxes/${original.id}/snapshots`, json({ name: 'keep' }))
        ).json()) as { id: string };

        // Host ports bind once: the restored sandbox does not take them (docs/network.md), the original keeps them.
        const restore = await bridge.call(`/api/v1/snapshots/${snapshot.id}/restore`, { method: 'POST' });
        expect(restore.status).toBe(201);
        const restored = (await restore.json()) as Record<string, unknown> & { id: string };
        // It runs, and names, its snapshot's image (documented; Den names the snapshot's image too).
        expect(restored.image).toBe(`burrow-snapshot:${snapshot.id}`);
        expect(Date.parse(String(restored.expires_at)) - Date.parse(String(restored.created_at))).toBe(
          120_000,
        );
        expect(restored.ports ?? []).toEqual([]);
        expect(bridge.publisher.isBound(original.id, port)).toBe(true);
        const files = `/api/v1/sandboxes/${restored.id}/files?path=`;
        expect(await (await bridge.call(`${files}/data/shared.txt`)).text()).toBe('in the volume');
        expect(await (await bridge.call(`${files}/tmp/own.txt`)).text()).toBe('in the snapshot');
        const record = bridge.engine.list().find((entry) => entry.id === restored.id);
        expect(record?.config.storage?.volumes).toEqual([
          { name: volume, mountPath: '/data', readOnly: false },
        ]);
        expect(record?.config.networkMode).toBe('bridge');
      } finally {
        await bridge.close();
        await bridge.removeVolume(volume);
      }
    });
  });

  describe('stats and resources', () => {
    it("reports sandbox stats with Den's keys", async () => {
      const id = await api.sandbox();
      const response = await api.call(`/api/v1/sandboxes/${id}/stats`);
      expect(response.status).toBe(200);
      const stats = (await response.json()) as Record<string, unknown>;
      expect(Object.keys(stats).sort()).toEqual(
        [
          'cpu_percent',
          'disk_read',
          'disk_write',
          'memory_limit',
          'memory_percent',
          'memory_usage',
          'network_rx',
          'network_tx',
          'pid_count',
          'timestamp',
        ].sort(),
      );
      expect(stats.timestamp).toMatch(/Z$/);
      expect((await api.call('/api/v1/sandboxes/nope/stats')).status).toBe(404);
    });

    it("counts sandboxes with Den's keys", async () => {
      const stopped = await api.sandbox();
      await api.engine.stop(stopped);
      const stats = (await (await api.call('/api/v1/stats')).json()) as Record<string, number>;
      expect(Object.keys(stats).sort()).toEqual([
        'running_sandboxes',
        'stopped_sandboxes',
        'total_sandboxes',
      ]);
      expect(stats.total_sandboxes).toBe(api.engine.list().length);
      expect(stats.stopped_sandboxes).toBeGreaterThanOrEqual(1);
    });

    it('serves /resources from the server', async () => {
      const response = await api.call('/api/v1/resources');
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        host: { cpu_cores: 4 },
        pressure: { level: 'normal', can_create: true },
        sandboxes: { active: 0 },
      });
    });
  });
}
