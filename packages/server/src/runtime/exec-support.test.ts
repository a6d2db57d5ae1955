/**
 * The stream wrapper and the collector every backend uses, driven by hostile process handles: endless output, and
 * (below) a process whose events never end.
 */
import { describe, expect, it } from 'vitest';
import { collectExec, execStreamFrom, type ProcessHandle } from './exec-support.js';
import type { ExecEvent } from './runtime.js';

const MiB = 1024 * 1024;

/** A handle whose events come from `events`; `destroyed` records a destroy() call. */
function handleOf(events: AsyncIterable<ExecEvent>): ProcessHandle & { destroyed: boolean } {
  const handle = {
    destroyed: false,
    events,
    stdin: { write: () => Promise.resolve(), end: () => Promise.resolve() },
    kill: () => Promise.resolve(),
    destroy: () => {
      handle.destroyed = true;
    },
  };
  return handle;
}

/** `chunks` chunks of 64 KiB on stdout (and a little on stderr), then exit 0: like `yes | head -c ...`. */
async function* flood(chunks: number): AsyncGenerator<ExecEvent> {
  const chunk = Buffer.alloc(64 * 1024, 'y');
  for (let i = 0; i < chunks; i += 1) {
    yield { type: 'stdout', data: chunk };
    if (i % 16 === 0) yield { type: 'stderr', data: Buffer.from('e') };
  }
  yield { type: 'exit', exitCode: 0, timedOut: false };
}

describe('collectExec keeps at most maxOutputBytes per stream', () => {
  it('cuts stdout at the limit, drains the rest, and keeps the real exit code', async () => {
    const stream = execStreamFrom(handleOf(flood(640)), { cmd: ['yes'] }); // 40 MiB
    const result = await collectExec(stream, { maxOutputBytes: MiB });
    expect(result.stdout.length).toBe(MiB);
    expect(result.stdout.every((byte) => byte === 0x79)).toBe(true);
    expect(result.stderr.length).toBe(40);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, truncated: true });
  });

  it('cuts stderr on its own limit too', async () => {
    async function* errors(): AsyncGenerator<ExecEvent> {
      yield { type: 'stdout', data: Buffer.from('out') };
      for (let i = 0; i < 10; i += 1) yield { type: 'stderr', data: Buffer.alloc(1000, 'e') };
      yield { type: 'exit', exitCode: 3, timedOut: false };
    }
    const result = await collectExec(execStreamFrom(handleOf(errors()), { cmd: ['x'] }), {
      maxOutputBytes: 2500,
    });
    expect(result.stdout.toString()).toBe('out');
    expect(result.stderr.length).toBe(2500);
    expect(result).toMatchObject({ exitCode: 3, truncated: true });
  });

  it('is not truncated at exactly the limit', async () => {
    const result = await collectExec(execStreamFrom(handleOf(flood(16)), { cmd: ['x'] }), {
      maxOutputBytes: MiB,
    });
    expect(result.stdout.length).toBe(MiB);
    expect(result.truncated).toBe(false);
  });

  it('hands stdout to a sink as it comes, under the same limit, and keeps none of it', async () => {
    const handed: Buffer[] = [];
    // Each call is awaited before the next output is taken: a call that starts while one runs is an overlap.
    let inSink = false;
    let overlaps = 0;
    const result = await collectExec(execStreamFrom(handleOf(flood(40)), { cmd: ['yes'] }), {
      maxOutputBytes: MiB + 100,
      stdoutSink: async (data) => {
        if (inSink) overlaps += 1;
        inSink = true;
        handed.push(data);
        await new Promise((resolve) => setImmediate(resolve));
        inSink = false;
      },
    });
    expect(Buffer.concat(handed).length).toBe(MiB + 100);
    expect(handed.length).toBeGreaterThan(1);
    expect(overlaps).toBe(0);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr.length).toBe(3);
    expect(result).toMatchObject({ exitCode: 0, truncated: true });
  });

  it('has a 16 MiB default', async () => {
    const result = await collectExec(execStreamFrom(handleOf(flood(320)), { cmd: ['x'] })); // 20 MiB
    expect(result.stdout.length).toBe(16 * MiB);
    expect(result.truncated).toBe(true);
  });
});

/** Events that never come: an agent that accepted the exec and then says nothing, ever. */
function silence(): AsyncIterable<ExecEvent> {
  return { [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => undefined) }) };
}

/** Output forever, ignoring any timeout: an agent that never reports an exit. */
async function* endless(): AsyncGenerator<ExecEvent> {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    yield { type: 'stdout', data: Buffer.from('y\n') };
  }
}

describe('the timeout is enforced on the server too', () => {
  it('ends a silent process at timeout plus grace with exit 124 and destroys the handle', async () => {
    const handle = handleOf(silence());
    const started = performance.now();
    const result = await collectExec(
      execStreamFrom(handle, { cmd: ['sleep', 'forever'], timeoutMs: 50 }, { graceMs: 50 }),
    );
    expect(result).toMatchObject({ exitCode: 124, timedOut: true });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(handle.destroyed).toBe(true);
  }, 3000);

  it('ends a process whose output never stops, keeping what the limit allows', async () => {
    const handle = handleOf(endless());
    const result = await collectExec(
      execStreamFrom(handle, { cmd: ['yes'], timeoutMs: 50 }, { graceMs: 50 }),
      { maxOutputBytes: 10 },
    );
    expect(result).toMatchObject({ exitCode: 124, timedOut: true, truncated: true });
    expect(result.stdout.toString()).toBe('y\ny\ny\ny\ny\n');
    expect(handle.destroyed).toBe(true);
  }, 3000);

  it('ends the WebSocket-style iteration the same way', async () => {
    const events: ExecEvent[] = [];
    for await (const event of execStreamFrom(
      handleOf(silence()),
      { cmd: ['x'], timeoutMs: 20 },
      { graceMs: 0 },
    ))
      events.push(event);
    expect(events).toEqual([{ type: 'exit', exitCode: 124, timedOut: true }]);
  }, 3000);

  it('keeps the backend exit when it comes within the grace period', async () => {
    async function* late(): AsyncGenerator<ExecEvent> {
      await new Promise((resolve) => setTimeout(resolve, 60));
      yield { type: 'exit', exitCode: 124, timedOut: true };
    }
    const handle = handleOf(late());
    const result = await collectExec(
      execStreamFrom(handle, { cmd: ['x'], timeoutMs: 50 }, { graceMs: 1000 }),
    );
    expect(result).toMatchObject({ exitCode: 124, timedOut: true });
    expect(handle.destroyed).toBe(false);
  }, 3000);

  it('has no deadline without a timeout, and an abort still ends a silent process at once', async () => {
    const controller = new AbortController();
    const handle = handleOf(silence());
    const pending = collectExec(execStreamFrom(handle, { cmd: ['x'], signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('client went away')), 20);
    await expect(pending).rejects.toThrow('client went away');
    expect(handle.destroyed).toBe(true);
  }, 3000);

  it('close() ends an iteration that waits on a silent process', async () => {
    const stream = execStreamFrom(handleOf(silence()), { cmd: ['x'] });
    const iterating = (async () => {
      const seen: ExecEvent[] = [];
      for await (const event of stream) seen.push(event);
      return seen;
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await stream.close();
    expect(await iterating).toEqual([]);
  }, 3000);
});
