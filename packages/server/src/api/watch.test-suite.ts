/** The watch WebSocket on the in-memory runtime, and its bounded queue for slow clients.
 * On the fake (watch.test.ts) and on Docker (watch.docker.test.ts).
 */
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import type { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxProcesses } from '../engine/processes.js';
import type { WatchEvent, WatchStream } from '../runtime/runtime.js';
import { AsyncQueue } from '../util/async-queue.js';
import { fakeOnly } from './test-support/cases.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';
import { WsReader } from './test-support/ws-reader.js';
import { WatchSession } from './ws/watch-session.js';

export function watchRoutesSuite(kind: RuntimeKind): void {
  const cleanEndOnStop = fakeOnly(
    kind,
    'on Docker a stop cuts the agent connection and the watch ends with 1011 AGENT_PROTOCOL, a defect reported with issue 17',
  );
  let api: Harness;
  let id: string;
  beforeAll(async () => {
    api = await startApi({ runtime: kind });
    id = await api.sandbox();
  });
  afterAll(() => api.close());

  function watch(query: string, sandbox = id): WsReader {
    return new WsReader(api.ws(`/api/v1/sandboxes/${sandbox}/watch${query}`));
  }

  const events = (reader: WsReader) =>
    reader.json
      .filter((message) => message.type === 'event')
      .map((message) => `${String(message.kind)} ${String(message.path)}`);

  describe('watch', () => {
    it('says when it is watching, then reports creates (a replacing write too, as a rename shows) and removes in order', async () => {
      await api.engine.mkdir(id, '/tmp/w');
      const flat = watch('?path=/tmp/w');
      const deep = watch('?path=/tmp/w&recursive=true');
      await flat.until((r) => r.json.length > 0);
      await deep.until((r) => r.json.length > 0);
      expect(flat.json[0]).toEqual({ type: 'watching', path: '/tmp/w', recursive: false });
      await api.engine.writeFile(id, '/tmp/w/a.txt', 'one');
      await api.engine.writeFile(id, '/tmp/w/a.txt', 'two');
      await api.engine.mkdir(id, '/tmp/w/sub');
      await api.engine.writeFile(id, '/tmp/w/sub/deep.txt', 'x');
      await api.engine.removeFile(id, '/tmp/w/a.txt');
      await flat.until((r) => events(r).includes('remove /tmp/w/a.txt'));
      await deep.until((r) => events(r).includes('remove /tmp/w/a.txt'));
      expect(events(flat)).toEqual([
        'create /tmp/w/a.txt',
        // The file API writes a temporary file and renames it over the old one: inotify sees a create.
        'create /tmp/w/a.txt',
        'create /tmp/w/sub',
        'remove /tmp/w/a.txt',
      ]);
      expect(events(deep)).toEqual([
        'create /tmp/w/a.txt',
        // The file API writes a temporary file and renames it over the old one: inotify sees a create.
        'create /tmp/w/a.txt',
        'create /tmp/w/sub',
        'create /tmp/w/sub/deep.txt',
        'remove /tmp/w/a.txt',
      ]);
      expect(deep.json.find((message) => message.path === '/tmp/w/sub')).toMatchObject({ is_dir: true });
      flat.socket.close();
      deep.socket.close();
      await Promise.all([flat.closed, deep.closed]);
    });

    it('carries a path that is not UTF-8 as base64 too', async () => {
      await api.engine.mkdir(id, '/tmp/bytes');
      const reader = watch('?path=/tmp/bytes');
      await reader.until((r) => r.json.length > 0);
      await api.engine.writeFile(id, Buffer.from('/tmp/bytes/\xff.txt', 'latin1'), 'x');
      await reader.until((r) => events(r).length > 0);
      expect(reader.json[1]).toMatchObject({
        kind: 'create',
        path: '/tmp/bytes/\uFFFD.txt',
        path_base64: Buffer.from('/tmp/bytes/\xff.txt', 'latin1').toString('base64'),
      });
      reader.socket.close();
    });

    cleanEndOnStop('ends with close 1000 when the sandbox stops', async () => {
      const sandbox = await api.sandbox();
      const reader = watch('?path=/tmp', sandbox);
      await reader.until((r) => r.json.length > 0);
      await api.engine.stop(sandbox);
      expect(await reader.closed).toEqual({ code: 1000, reason: 'watch ended' });
    });

    it('refuses before the upgrade: missing path, missing dir, a file, bad recursive, stopped sandbox', async () => {
      await api.engine.writeFile(id, '/tmp/file.txt', 'x');
      expect(await watch('').refused).toMatchObject({ status: 400, body: { code: 'INVALID_PATH' } });
      expect(await watch('?path=tmp').refused).toMatchObject({ status: 400, body: { code: 'INVALID_PATH' } });
      expect(await watch('?path=/nowhere').refused).toMatchObject({
        status: 404,
        body: { code: 'FILE_NOT_FOUND' },
      });
      expect(await watch('?path=/tmp/file.txt').refused).toMatchObject({
        status: 400,
        body: { code: 'NOT_A_DIRECTORY', error: '/tmp/file.txt: not a directory: watch a directory' },
      });
      expect(await watch('?path=/tmp&recursive=yes').refused).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_FAILED', field: 'recursive' },
      });
      expect(await watch('?path=/tmp', 'nosuchsandbox').refused).toMatchObject({
        status: 404,
        body: { code: 'SANDBOX_NOT_FOUND' },
      });
      expect((await api.call(`/api/v1/sandboxes/${id}/watch?path=/tmp`)).status).toBe(400);
    });
  });

  describe('a server whose path has no agent', () => {
    it('refuses attach and watch before the upgrade with 501, and leaves their tokens out of /health', async () => {
      const plain = await startApi({ runtime: kind, interactive: false });
      try {
        const sandbox = await plain.sandbox();
        const watchRefusal = await new WsReader(plain.ws(`/api/v1/sandboxes/${sandbox}/watch?path=/tmp`))
          .refused;
        expect(watchRefusal).toMatchObject({ status: 501, body: { code: 'NOT_SUPPORTED' } });
        const attach = new WsReader(plain.ws(`/api/v1/sandboxes/${sandbox}/processes/proc_00/attach`));
        expect(await attach.refused).toMatchObject({ status: 501, body: { code: 'NOT_SUPPORTED' } });
        const health = (await (await plain.call('/api/v1/health')).json()) as { features: string[] };
        expect(health.features).not.toContain('processes');
        expect(health.features).not.toContain('file_watch');
        expect(health.features).not.toContain('pty');
      } finally {
        await plain.close();
      }
    });
  });

  /** A socket whose send buffer the test controls. */
  class StubSocket extends EventEmitter {
    readyState = 1;
    bufferedAmount = 0;
    isPaused = false;
    sent: Record<string, unknown>[] = [];
    send(data: string, _options: unknown, callback?: () => void): void {
      this.sent.push(JSON.parse(data) as Record<string, unknown>);
      this.bufferedAmount += data.length;
      callback?.();
    }
    ping(): void {}
    close(): void {
      this.readyState = 3;
      this.emit('close');
    }
    terminate(): void {
      this.close();
    }
  }

  describe('watch queue bound', () => {
    it('drops events while the client is behind and sends one overflow once it caught up', async () => {
      const queue = new AsyncQueue<WatchEvent>();
      const stream: WatchStream = {
        [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
        close: () => {
          queue.end();
          return Promise.resolve();
        },
      };
      const processes = { watch: () => Promise.resolve(stream) } as unknown as SandboxProcesses;
      const socket = new StubSocket();
      new WatchSession({
        socket: socket as unknown as WebSocket,
        sandboxId: 'x',
        path: '/tmp',
        recursive: false,
        processes,
        log: pino({ level: 'silent' }),
        queueBytes: 1000,
      }).start();
      const event = (n: number): WatchEvent => ({
        type: 'event',
        kind: 'create',
        path: Buffer.from(`/tmp/file-${n}`),
        isDir: false,
      });
      const settle = () => new Promise((resolve) => setTimeout(resolve, 60));
      await settle();
      for (let n = 0; n < 100; n += 1) queue.push(event(n));
      await settle();
      // The client reads nothing: what was sent stays buffered, the rest is dropped, not queued.
      const sentWhileBehind = socket.sent.length;
      expect(socket.bufferedAmount).toBeLessThan(1200);
      expect(sentWhileBehind).toBeLessThan(20);
      expect(socket.sent.some((message) => message.type === 'overflow')).toBe(false);
      // The client catches up: one overflow, then events flow again.
      socket.bufferedAmount = 0;
      await settle();
      queue.push(event(1000));
      await settle();
      const after = socket.sent.slice(sentWhileBehind).map((message) => message.type ?? '');
      expect(after).toEqual(['overflow', 'event']);
      expect(socket.sent.at(-1)).toMatchObject({ path: '/tmp/file-1000' });
      // An overflow the runtime reports passes through as one message too.
      queue.push({ type: 'overflow' });
      queue.push({ type: 'overflow' });
      queue.push(event(1001));
      await settle();
      expect(socket.sent.slice(-2).map((message) => message.type)).toEqual(['overflow', 'event']);
      socket.close();
    });
  });
}
