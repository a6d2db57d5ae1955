/**
 * Slow and idle clients cannot hold the server's connections: headers that arrive slowly (slowloris) and JSON
 * bodies that trickle are cut at their deadlines, connections beyond the cap are refused, and none of it cuts a
 * stream (an upload that takes longer than the body deadline, an exec that runs longer).
 * On the fake (slow-clients.test.ts) and on Docker (slow-clients.docker.test.ts).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function slowClientsSuite(kind: RuntimeKind): void {
  let api: Harness;
  let capped: Harness;
  beforeAll(async () => {
    api = await startApi({ runtime: kind, slowClients: { headerTimeoutMs: 500, requestTimeoutMs: 500 } });
    capped = await startApi({ runtime: kind, slowClients: { headerTimeoutMs: 60_000, maxConnections: 3 } });
  });
  afterAll(async () => {
    await api.close();
    await capped.close();
  });

  function address(harness: Harness): { host: string; port: number } {
    const url = new URL(harness.url);
    return { host: url.hostname, port: Number(url.port) };
  }

  function open(harness: Harness): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connect(address(harness), () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** Resolves with what the server sent and how long after `since` it closed the connection. */
  function closed(socket: Socket, since: number): Promise<{ afterMs: number; received: string }> {
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', () => undefined);
    return new Promise((resolve) =>
      socket.once('close', () => resolve({ afterMs: performance.now() - since, received })),
    );
  }

  /** Writes `parts` one every `everyMs` until the socket closes. */
  function trickle(socket: Socket, parts: string[], everyMs: number): void {
    let index = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || index >= parts.length) {
        clearInterval(timer);
        return;
      }
      socket.write(parts[index++] ?? '');
    }, everyMs);
    socket.once('close', () => clearInterval(timer));
  }

  describe('slow clients', () => {
    it('cuts a client that sends its headers slowly (slowloris)', async () => {
      const socket = await open(api);
      const started = performance.now();
      const ended = closed(socket, started);
      socket.write(`GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
      trickle(
        socket,
        Array.from({ length: 200 }, (_, i) => `X-Slow-${i}: y\r\n`),
        100,
      );
      const { afterMs } = await ended;
      expect(afterMs).toBeLessThan(2500);
    });

    it('cuts a connection that never sends a byte', async () => {
      const socket = await open(api);
      const { afterMs } = await closed(socket, performance.now());
      expect(afterMs).toBeLessThan(2500);
    });

    it('answers 408 to a JSON body that trickles, and closes the connection', async () => {
      const socket = await open(api);
      const started = performance.now();
      const ended = closed(socket, started);
      const body = '{"image":"fake/image"}'.padEnd(200, ' ');
      socket.write(
        `POST /api/v1/sandboxes HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      trickle(socket, [...body], 100);
      const { afterMs, received } = await ended;
      expect(afterMs).toBeLessThan(2500);
      expect(received).toMatch(/^HTTP\/1\.1 408 /);
      expect(received).toContain('"code":"REQUEST_TIMEOUT"');
    });

    it('never cuts a stream: an upload slower than the body deadline, an exec longer than it', async () => {
      const id = await api.sandbox();
      const chunks = ['a'.repeat(10), 'b'.repeat(10), 'c'.repeat(10), 'd'.repeat(10), 'e'.repeat(10)];
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = chunks.shift();
          if (next === undefined) {
            controller.close();
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
          controller.enqueue(new TextEncoder().encode(next));
        },
      });
      const upload = await api.call(`/api/v1/sandboxes/${id}/files?path=/tmp/slow`, {
        method: 'PUT',
        body,
        duplex: 'half',
      } as RequestInit);
      expect(upload.status).toBe(200);
      expect(await upload.json()).toEqual({ success: true, bytes: 50 });

      const exec = await api.call(`/api/v1/sandboxes/${id}/exec`, {
        method: 'POST',
        body: JSON.stringify({ cmd: ['sh', '-c', 'sleep 1; echo done'] }),
      });
      expect(await exec.json()).toMatchObject({ exit_code: 0, stdout: 'done\n' });
    });
  });

  describe('the connection cap', () => {
    it('refuses connections beyond server.max_connections and serves again once one closes', async () => {
      const held = await Promise.all([open(capped), open(capped), open(capped)]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const extra = await open(capped);
      const { afterMs } = await closed(extra, performance.now());
      expect(afterMs).toBeLessThan(1000);
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const response = await capped.call('/api/v1/health');
      expect(response.status).toBe(200);
    });
  });
}
