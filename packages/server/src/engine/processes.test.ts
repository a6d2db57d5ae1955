/** The engine's process and watch calls: running check, sandbox env, replay buffer size, status learning. */
import { describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import { silentLogger } from '../logger.js';
import { FakeRuntime } from '../runtime/fake/fake-runtime.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { testPolicy } from '../test-support/policy.js';
import { Engine } from './engine.js';

function setup(processBufferBytes?: number) {
  const runtime = new FakeRuntime();
  const store = new SqliteStore(':memory:');
  const engine = new Engine({
    runtime,
    store,
    policy: testPolicy(),
    maxSandboxes: 10,
    logger: silentLogger,
    ...(processBufferBytes === undefined ? {} : { processBufferBytes }),
  });
  return { runtime, store, engine };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return isBurrowError(error) ? error.code : String(error);
  }
}

describe('engine processes', () => {
  it('keeps the configured bytes of output per process, 1 MiB by default', async () => {
    const small = setup(4096);
    const id = (await small.engine.create({})).id;
    const started = await small.engine.processes.start(id, { cmd: ['head', '-c', '10000', '/dev/zero'] });
    expect((await small.engine.processes.wait(id, started.id, 5000)).outputDropped.stdout).toBe(10000 - 4096);

    const byDefault = setup();
    const other = (await byDefault.engine.create({})).id;
    const big = await byDefault.engine.processes.start(other, {
      cmd: ['head', '-c', String(2 * 1024 * 1024), '/dev/zero'],
    });
    expect((await byDefault.engine.processes.wait(other, big.id, 5000)).outputDropped.stdout).toBe(
      1024 * 1024,
    );
  });

  it("runs with the sandbox's env under the process's own", async () => {
    const { engine } = setup();
    const id = (await engine.create({ env: { A: 'sandbox', B: 'sandbox' } })).id;
    const started = await engine.processes.start(id, {
      cmd: ['sh', '-c', 'printenv A; printenv B'],
      env: { B: 'own' },
    });
    const attachment = await engine.processes.attach(id, started.id, { replay: true });
    let text = '';
    for await (const event of attachment) if (event.type === 'stdout') text += event.data.toString();
    expect(text).toBe('sandbox\nown\n');
  });

  it('refuses every call on a stopped or unknown sandbox, and learns of a sandbox that died', async () => {
    const { engine, runtime, store } = setup();
    const id = (await engine.create({})).id;
    await engine.stop(id);
    for (const call of [
      engine.processes.start(id, { cmd: ['true'] }),
      engine.processes.list(id),
      engine.processes.get(id, 'proc_00'),
      engine.processes.attach(id, 'proc_00'),
      engine.processes.wait(id, 'proc_00', 10),
      engine.processes.input(id, 'proc_00', Buffer.from('x')),
      engine.processes.signal(id, 'proc_00', 'SIGTERM'),
      engine.processes.kill(id, 'proc_00'),
      engine.processes.resize(id, 'proc_00', { cols: 80, rows: 24 }),
      engine.processes.watch(id, '/tmp'),
    ]) {
      expect(await codeOf(call)).toBe('SANDBOX_NOT_RUNNING');
    }
    expect(await codeOf(engine.processes.list('nosuchsandbox'))).toBe('SANDBOX_NOT_FOUND');

    const dying = (await engine.create({})).id;
    await runtime.stop(dying);
    expect(await codeOf(engine.processes.list(dying))).toBe('SANDBOX_NOT_RUNNING');
    expect(store.getSandbox(dying)?.status).not.toBe('running');
  });
});
