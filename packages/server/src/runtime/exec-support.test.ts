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

  it('has a 16 MiB default', async () => {
    const result = await collectExec(execStreamFrom(handleOf(flood(320)), { cmd: ['x'] })); // 20 MiB
    expect(result.stdout.length).toBe(16 * MiB);
    expect(result.truncated).toBe(true);
  });
});
