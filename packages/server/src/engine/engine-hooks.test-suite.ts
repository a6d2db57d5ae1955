/**
 * The engine's lifetime hooks (what S3 storage hangs on): their order, the configuration a hook may amend, what a
 * failing hook does to a create or a start, and a create in progress as the list shows it. On the fake
 * (engine-hooks.test.ts) and on Docker (engine-hooks.docker.test.ts), with the status watcher running as in
 * production.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import type { SandboxConfig } from '../runtime/runtime.js';
import type { SandboxRecord } from '../store/store.js';
import { startApi, type Harness, type RuntimeKind } from '../api/test-support/harness.js';
import type { SandboxHooks } from './engine.js';

function recordingHooks(fail: Partial<Record<keyof SandboxHooks, boolean>> = {}) {
  const calls: string[] = [];
  const step = (name: keyof SandboxHooks, record: { id: string }) => {
    calls.push(name);
    if (fail[name] === true) throw new BurrowError('S3_ACCESS_DENIED', `${name} failed for ${record.id}`);
  };
  const hooks: Required<SandboxHooks> = {
    beforeCreate: (id: string, config: SandboxConfig) => {
      step('beforeCreate', { id });
      return Promise.resolve({ ...config, env: { ...config.env, AMENDED: '1' } });
    },
    afterCreate: (record: SandboxRecord) => Promise.resolve(step('afterCreate', record)),
    beforeStart: (record: SandboxRecord) => Promise.resolve(step('beforeStart', record)),
    afterStart: (record: SandboxRecord) => Promise.resolve(step('afterStart', record)),
    afterStop: (record: SandboxRecord) => Promise.resolve(step('afterStop', record)),
    beforeDestroy: (record: SandboxRecord) => Promise.resolve(step('beforeDestroy', record)),
    afterRemove: (record: SandboxRecord) => Promise.resolve(step('afterRemove', record)),
  };
  return { calls, hooks };
}

async function failure(promise: Promise<unknown>): Promise<BurrowError> {
  try {
    await promise;
  } catch (error) {
    if (isBurrowError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

export function engineHooksSuite(kind: RuntimeKind): void {
  const harnesses: Harness[] = [];
  async function setup(hooks: SandboxHooks): Promise<Harness> {
    const api = await startApi({ runtime: kind, maxSandboxes: 5, hooks: [hooks] });
    harnesses.push(api);
    return api;
  }
  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((api) => api.close()));
  });

  describe('engine hooks', () => {
    it('run in lifetime order, and beforeCreate amends the configuration that is created and recorded', async () => {
      const { calls, hooks } = recordingHooks();
      const { engine, runtime, store } = await setup(hooks);
      const sandbox = await engine.create({});
      expect(calls).toEqual(['beforeCreate', 'afterStart', 'afterCreate']);
      expect((await runtime.info(sandbox.id)).config?.env).toEqual({ AMENDED: '1' });
      expect(store.getSandbox(sandbox.id)?.config.env).toEqual({ AMENDED: '1' });
      await engine.stop(sandbox.id);
      await engine.start(sandbox.id);
      await engine.destroy(sandbox.id);
      expect(calls.slice(3)).toEqual([
        'afterStop',
        'beforeStart',
        'afterStart',
        'beforeDestroy',
        'afterRemove',
      ]);
    });

    it('a failing beforeCreate or afterStart fails the create with its error and leaves nothing behind', async () => {
      for (const stage of ['beforeCreate', 'afterStart'] as const) {
        const { calls, hooks } = recordingHooks({ [stage]: true });
        const { engine, runtime } = await setup(hooks);
        expect((await failure(engine.create({}))).code).toBe('S3_ACCESS_DENIED');
        expect(calls.at(-1)).toBe('afterRemove');
        expect(calls).not.toContain('afterCreate');
        expect(await runtime.list()).toEqual([]);
        expect(engine.list()).toEqual([]);
      }
    });

    it('a start of a running sandbox is a no-op that runs no hooks', async () => {
      const { calls, hooks } = recordingHooks();
      const { engine } = await setup(hooks);
      const sandbox = await engine.create({});
      const before = calls.length;
      expect(await engine.start(sandbox.id)).toMatchObject({ status: 'running' });
      expect(calls.slice(before)).toEqual([]);
    });

    it('a failing afterStart fails the start and leaves the sandbox stopped, also once the watcher saw every event', async () => {
      const { hooks } = recordingHooks({ afterCreate: true });
      const api = await setup(hooks);
      // A command that dies of the stop's SIGTERM (143): read as the main process failing, it would be `error`.
      const sandbox = await api.engine.create({ cmd: ['sleep', '1000'] });
      expect(sandbox.status).toBe('running');
      await api.engine.stop(sandbox.id);
      hooks.afterStart = () => Promise.reject(new BurrowError('S3_ERROR', 'mount failed'));
      const start = await api.call(`/api/v1/sandboxes/${sandbox.id}/start`, { method: 'POST' });
      expect(start.status).toBe(502);
      expect(await start.json()).toEqual({ error: 'mount failed', code: 'S3_ERROR' });
      expect((await api.runtime.info(sandbox.id)).status).toBe('stopped');
      // Docker delivers its events within milliseconds; a second is ample for the watcher to have read them.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await api.engine.get(sandbox.id)).toMatchObject({ status: 'stopped', exitCode: 143 });
      expect((await api.engine.get(sandbox.id)).error).toBeUndefined();
      // Startable again once the hook works.
      hooks.afterStart = () => Promise.resolve();
      expect(await api.engine.start(sandbox.id)).toMatchObject({ status: 'running' });
    });

    it('shows a sandbox being created in the list as creating, and running once its create returns', async () => {
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const api = await setup({ afterStart: () => held });
      const creating = api.call('/api/v1/sandboxes', {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json' },
      });
      // The sandbox exists on the runtime (started) while its create is still under way.
      await expect.poll(async () => (await api.runtime.list()).length, { timeout: 30_000 }).toBe(1);
      const listed = (await (await api.call('/api/v1/sandboxes')).json()) as { id: string; status: string }[];
      expect(listed).toHaveLength(1);
      expect(listed[0]?.status).toBe('creating');
      const id = listed[0]?.id ?? '';
      // The watcher saw the container start; a record being created is not the watcher's to change.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(((await (await api.call(`/api/v1/sandboxes/${id}`)).json()) as { status: string }).status).toBe(
        'creating',
      );
      release();
      expect((await creating).status).toBe(201);
      const after = (await (await api.call('/api/v1/sandboxes')).json()) as { id: string; status: string }[];
      expect(after).toEqual([expect.objectContaining({ id, status: 'running' })]);
    });
  });
}
