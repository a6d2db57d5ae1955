/**
 * The engine's lifetime hooks (what S3 storage hangs on): their order, the configuration a hook may amend, and
 * what a failing hook does to a create or a start.
 */
import { describe, expect, it } from 'vitest';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import { silentLogger } from '../logger.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import type { SandboxConfig } from '../runtime/runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { SandboxRecord } from '../store/store.js';
import { Engine, type SandboxHooks } from './engine.js';
import { StatusWatcher } from './status-watcher.js';
import { testPolicy as defaultTestPolicy } from '../test-support/policy.js';

const testPolicy = defaultTestPolicy();

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

function setup(hooks: SandboxHooks) {
  const runtime = new FakeRuntime();
  const store = new SqliteStore(':memory:');
  const engine = new Engine({
    runtime,
    store,
    policy: testPolicy,
    maxSandboxes: 5,
    logger: silentLogger,
    hooks: [hooks],
  });
  return { runtime, store, engine };
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

describe('engine hooks', () => {
  it('run in lifetime order, and beforeCreate amends the configuration that is created and recorded', async () => {
    const { calls, hooks } = recordingHooks();
    const { engine, runtime, store } = setup(hooks);
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
      const { engine, runtime } = setup(hooks);
      expect((await failure(engine.create({}))).code).toBe('S3_ACCESS_DENIED');
      expect(calls.at(-1)).toBe('afterRemove');
      expect(calls).not.toContain('afterCreate');
      expect(await runtime.list()).toEqual([]);
      expect(engine.list()).toEqual([]);
    }
  });

  it('a start of a running sandbox is a no-op that runs no hooks', async () => {
    const { calls, hooks } = recordingHooks();
    const { engine } = setup(hooks);
    const sandbox = await engine.create({});
    const before = calls.length;
    expect(await engine.start(sandbox.id)).toMatchObject({ status: 'running' });
    expect(calls.slice(before)).toEqual([]);
  });

  it('a failing afterStart fails the start and stops the sandbox again; a failing afterCreate is only logged', async () => {
    const { hooks } = recordingHooks({ afterCreate: true });
    const { engine, runtime } = setup(hooks);
    // As in production: the status watcher sees the start and the stop that undoes it.
    const watcher = new StatusWatcher(engine, runtime, silentLogger);
    watcher.start();
    try {
      const sandbox = await engine.create({ cmd: ['sleep', '1000'] });
      expect(sandbox.status).toBe('running');
      await engine.stop(sandbox.id);
      hooks.afterStart = () => Promise.reject(new BurrowError('S3_ERROR', 'mount failed'));
      expect((await failure(engine.start(sandbox.id))).message).toBe('mount failed');
      expect((await runtime.info(sandbox.id)).status).toBe('stopped');
      // Burrow stopped it itself: `stopped`, also once the watcher has seen every event.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await engine.get(sandbox.id)).toMatchObject({ status: 'stopped' });
      expect((await engine.get(sandbox.id)).error).toBeUndefined();
    } finally {
      await watcher.stop();
    }
  });
});
