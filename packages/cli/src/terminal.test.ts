/** Joining a local terminal to a remote one: raw mode in and out, keys, resizes, signals, detaching. */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { joinTerminal, terminalSize, type RemoteTerminal } from './terminal.js';

type RemoteEvent = { type: 'data'; data: Uint8Array } | { type: 'exit'; exitCode: number };

/** A remote terminal the test drives: `emit` output or an exit, `fail` it; it records what it was sent. */
function fakeRemote() {
  const pending: RemoteEvent[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const sent: string[] = [];
  const sizes: { cols: number; rows: number }[] = [];
  let closed = false;
  const remote: RemoteTerminal = {
    events: (async function* () {
      for (;;) {
        const next = pending.shift();
        if (next !== undefined) {
          yield next;
          if (next.type === 'exit') return;
          continue;
        }
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    })(),
    write: (data) => sent.push(Buffer.from(data).toString('latin1')),
    resize: (size) => sizes.push(size),
    close: () => {
      closed = true;
      failure = new Error('closed');
      wake?.();
    },
  };
  return {
    remote,
    sent,
    sizes,
    closed: () => closed,
    emit(event: RemoteEvent) {
      pending.push(event);
      wake?.();
    },
    fail(error: Error) {
      failure = error;
      wake?.();
    },
  };
}

function fakeLocal() {
  const modes: boolean[] = [];
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode: (raw: boolean) => modes.push(raw),
  });
  const output = Object.assign(new PassThrough(), { columns: 132, rows: 43 });
  const written: Buffer[] = [];
  output.on('data', (chunk: Buffer) => written.push(chunk));
  const signals = new EventEmitter();
  return {
    local: { input, output, signals: signals as unknown as Pick<NodeJS.Process, 'on' | 'off'> },
    modes,
    output: () => Buffer.concat(written).toString(),
    signals,
  };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('joinTerminal', () => {
  it('goes raw, passes keys through unchanged, follows resizes, writes output, returns the exit code', async () => {
    const remote = fakeRemote();
    const local = fakeLocal();
    const joined = joinTerminal(remote.remote, local.local);
    await tick();
    expect(local.modes).toEqual([true]);
    local.local.input.write('ls\r');
    local.local.input.write('\x03\x1b[A');
    remote.emit({ type: 'data', data: Buffer.from('$ \x1b[1mprompt\x1b[0m') });
    local.local.output.columns = 100;
    local.local.output.emit('resize');
    await tick();
    remote.emit({ type: 'exit', exitCode: 3 });
    expect(await joined).toEqual({ exitCode: 3, detached: false });
    expect(remote.sent.join('')).toBe('ls\r\x03\x1b[A');
    expect(remote.sizes).toEqual([{ cols: 100, rows: 43 }]);
    expect(local.output()).toBe('$ \x1b[1mprompt\x1b[0m');
    expect(local.modes).toEqual([true, false]);
    expect(local.local.input.listenerCount('data')).toBe(0);
    expect(local.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('restores the terminal when the connection fails', async () => {
    const remote = fakeRemote();
    const local = fakeLocal();
    const joined = joinTerminal(remote.remote, local.local);
    await tick();
    remote.fail(new Error('connection lost'));
    await expect(joined).rejects.toThrow('connection lost');
    expect(local.modes).toEqual([true, false]);
  });

  it('detaches on the detach key, sending what came before it', async () => {
    const remote = fakeRemote();
    const local = fakeLocal();
    const joined = joinTerminal(remote.remote, local.local, { detachKey: 0x1d });
    await tick();
    local.local.input.write('abc\x1dxyz');
    expect(await joined).toEqual({ detached: true });
    expect(remote.sent).toEqual(['abc']);
    expect(remote.closed()).toBe(true);
    expect(local.modes).toEqual([true, false]);
  });

  it('ends the remote program and restores the terminal when the CLI gets SIGTERM', async () => {
    const remote = fakeRemote();
    const local = fakeLocal();
    const joined = joinTerminal(remote.remote, local.local);
    await tick();
    local.signals.emit('SIGTERM');
    expect(await joined).toEqual({ exitCode: 143, detached: false });
    expect(remote.closed()).toBe(true);
    expect(local.modes).toEqual([true, false]);
  });

  it('does not touch the mode of a stdin that is not a terminal; sizes default to 80 × 24', async () => {
    const remote = fakeRemote();
    const local = fakeLocal();
    local.local.input.isTTY = false;
    const joined = joinTerminal(remote.remote, local.local);
    remote.emit({ type: 'exit', exitCode: 0 });
    await joined;
    expect(local.modes).toEqual([]);
    expect(terminalSize({})).toEqual({ cols: 80, rows: 24 });
    expect(terminalSize({ columns: 5000, rows: 50 })).toEqual({ cols: 1000, rows: 50 });
  });
});
