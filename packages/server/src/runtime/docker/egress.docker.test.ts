/**
 * A proxy-only sandbox on the real engine (runc and gVisor): its programs reach the server's egress handler through
 * HTTP_PROXY, relayed by the agent over the sandbox's own egress socket (so the handler knows whose connection it
 * is); a program that ignores the proxy finds no route and fails at once.
 */
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../../ids.js';
import { DEBIAN_IMAGE, testDockerRuntime } from '../../test-support/docker-runtime.js';
import type { DockerRuntime } from './docker-runtime.js';

const seen: { sandbox: string; head: string }[] = [];

function fakeProxy(sandbox: string, connection: Duplex): void {
  let head = '';
  connection.on('data', (chunk: Buffer) => {
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    seen.push({ sandbox, head });
    connection.end(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\nConnection: close\r\n\r\nfrom the proxy!\r\n',
    );
  });
}

let runtime: DockerRuntime;
let cleanup: () => Promise<void>;
const created: string[] = [];

beforeAll(async () => {
  const target = await testDockerRuntime('socket', { egress: fakeProxy });
  runtime = target.runtime;
  cleanup = target.cleanup;
});

afterAll(async () => {
  await Promise.all(created.map((id) => runtime.remove(id).catch(() => undefined)));
  await cleanup();
});

const script = `
import os, socket, time, urllib.request
print(os.environ.get("HTTP_PROXY"))
print(urllib.request.urlopen("http://example.com/some/path", timeout=5).read().decode().strip())
started = time.time()
try:
    socket.create_connection(("192.0.2.1", 80), timeout=10)
    print("direct: connected")
except OSError as error:
    print("direct:", error.errno, round(time.time() - started, 1) < 1)
`;

for (const isolation of ['runc', 'gvisor'] as const) {
  describe(`a proxy-only sandbox (${isolation})`, () => {
    it('reaches the egress handler through HTTP_PROXY, as itself, and nothing directly', async () => {
      const id = newSandboxId();
      created.push(id);
      await runtime.create(id, {
        image: DEBIAN_IMAGE,
        networkMode: 'bridge',
        runtime: isolation,
        egress: { allow: ['example.com'], deny: [] },
      });
      await runtime.start(id);
      const result = await runtime.exec(id, { cmd: ['python3', '-c', script] });
      const lines = result.stdout.toString().trim().split('\n');
      expect(lines[0]).toBe('http://127.0.0.1:3128');
      expect(lines[1]).toBe('from the proxy!');
      // ENETUNREACH (101), at once: there is no interface but loopback.
      expect(lines[2]).toBe('direct: 101 True');
      const request = seen.find((entry) => entry.sandbox === id);
      expect(request?.head).toMatch(/^GET http:\/\/example\.com\/some\/path HTTP\/1\.1\r\n/);
    });
  });
}
