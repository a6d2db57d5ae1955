import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { Engine } from '../../engine/engine.js';
import type { ExecEvent, ExecStream } from '../../runtime/runtime.js';
import { ExecSession, MAX_FRAME_TEXT, splitText } from './exec-session.js';

/** A socket whose writes only complete when the test says the client read them. */
class SlowSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  isPaused = false;
  readonly sent: string[] = [];
  private readonly flushes: (() => void)[] = [];
  closed: number | undefined;

  send(data: string, callback: () => void): void {
    this.sent.push(data);
    this.bufferedAmount += data.length;
    this.flushes.push(() => {
      this.bufferedAmount -= data.length;
      callback();
    });
  }

  drain(): void {
    for (const flush of this.flushes.splice(0)) flush();
  }

  close(code: number): void {
    this.closed = code;
    this.readyState = 3;
  }

  ping(): void {}
  terminate(): void {}
  pause(): void {}
  resume(): void {}
}

function streamOf(chunks: number, size: number): { stream: ExecStream; pulled: () => number } {
  let pulled = 0;
  async function* events(): AsyncGenerator<ExecEvent> {
    for (let i = 0; i < chunks; i += 1) {
      pulled += 1;
      yield { type: 'stdout', data: Buffer.alloc(size, 0x61) };
    }
    yield { type: 'exit', exitCode: 0, timedOut: false };
  }
  const iterator = events();
  const stream: ExecStream = {
    [Symbol.asyncIterator]: () => iterator,
    stdin: { write: () => Promise.resolve(), end: () => Promise.resolve() },
    kill: () => Promise.resolve(),
    resize: () => Promise.resolve(),
    close: async () => {
      await iterator.return(undefined);
    },
  };
  return { stream, pulled: () => pulled };
}

const log = { debug: () => undefined, error: () => undefined } as never;

describe('ExecSession', () => {
  it('stops reading output while the client is not keeping up', async () => {
    const socket = new SlowSocket();
    const { stream, pulled } = streamOf(100, 256 * 1024);
    const engine = { execStream: () => Promise.resolve(stream) } as unknown as Engine;
    new ExecSession({ socket: socket as unknown as WebSocket, sandboxId: 'x', engine, log }).start();
    socket.emit('message', Buffer.from(JSON.stringify({ cmd: ['yes'] })));
    await new Promise((resolve) => setTimeout(resolve, 50));
    // ~1 MiB high-water mark: a handful of chunks, not all 100 (25 MiB).
    expect(pulled()).toBeLessThan(10);
    expect(socket.bufferedAmount).toBeLessThan(2 * 1024 * 1024);
    while (socket.closed === undefined) {
      socket.drain();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(pulled()).toBe(100);
    expect(socket.closed).toBe(1000);
    expect(JSON.parse(socket.sent.at(-1) ?? '')).toEqual({ type: 'exit', data: '0' });
    const frames = socket.sent.map((frame) => JSON.parse(frame) as { data: string });
    expect(frames.every((frame) => frame.data.length <= MAX_FRAME_TEXT)).toBe(true);
  });

  it('ends with an INTERNAL error frame and close 1011 when something unexpected fails', async () => {
    const socket = new SlowSocket();
    const engine = {
      execStream: () => Promise.reject(new Error('docker socket detail')),
    } as unknown as Engine;
    new ExecSession({ socket: socket as unknown as WebSocket, sandboxId: 'x', engine, log }).start();
    socket.emit('message', Buffer.from(JSON.stringify({ cmd: ['true'] })));
    await expect.poll(() => socket.closed).toBe(1011);
    expect(socket.sent.map((frame) => JSON.parse(frame) as unknown)).toEqual([
      { type: 'error', data: 'internal error', code: 'INTERNAL' },
    ]);
  });

  it('times out a client that never sends its request', async () => {
    const socket = new SlowSocket();
    const engine = {} as Engine;
    new ExecSession({
      socket: socket as unknown as WebSocket,
      sandboxId: 'x',
      engine,
      log,
      firstMessageTimeoutMs: 20,
    }).start();
    await expect.poll(() => socket.closed).toBe(1008);
    expect(JSON.parse(socket.sent[0] ?? '{}')).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
  });

  it('splits text without cutting surrogate pairs', () => {
    expect(splitText('abcdef', 4)).toEqual(['abcd', 'ef']);
    expect(splitText('abc😀def', 4)).toEqual(['abc', '😀de', 'f']);
    expect(splitText('', 4)).toEqual(['']);
  });
});
