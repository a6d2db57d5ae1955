/** A real `burrow serve` for the bench: loopback, a free port, a throwaway data directory, JSON logs to a file. */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts the server (with its E2B endpoint, whose `base` template is `e2bImage`) and waits for /api/v1/health.
 * `env` adds BURROW_* settings, `config` is the text of a config file. Resolves with its URL, the E2B endpoint's URL, pid,
 * data directory, instance id (the burrow.instance label of everything it creates) and a `stop()`.
 */
export async function startBurrow({ root, image, warmPoolSize, networkId, e2bImage, config, env = {} }) {
  const bin = join(root, 'packages/cli/dist/bin.js');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npm run build" first`);
  const dataDir = await mkdtemp(join(tmpdir(), 'burrow-bench-'));
  const port = await freePort();
  const e2bPort = await freePort();
  const log = join(dataDir, 'server.log');
  const out = createWriteStream(log);
  const configArgs = [];
  if (config !== undefined) {
    const file = join(dataDir, 'bench.yaml');
    await writeFile(file, config);
    configArgs.push('--config', file);
  }
  const args = ['serve', '--port', String(port), '--data-dir', dataDir, ...configArgs];
  // Run as users do, through the file's own interpreter line (it carries the server's V8 flags).
  const child = spawn(bin, args, {
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('BURROW_'))),
      BURROW_SANDBOX__DEFAULT_IMAGE: image,
      BURROW_SANDBOX__BUILD_DEFAULT_IMAGE: 'false',
      BURROW_SANDBOX__WARM_POOL_SIZE: String(warmPoolSize),
      BURROW_SANDBOX__MAX_SANDBOXES: '2000',
      BURROW_SERVER__RATE_LIMIT_RPS: '1000000',
      BURROW_SERVER__RATE_LIMIT_BURST: '1000000',
      BURROW_RUNTIME__NETWORK_ID: networkId,
      BURROW_DESTROY_ON_EXIT: 'true',
      BURROW_LOG__FORMAT: 'json',
      BURROW_LOG__LEVEL: 'info',
      // The E2B endpoint, its base template on an image with bash (E2B's commands run through it).
      BURROW_E2B__ENABLED: 'true',
      BURROW_E2B__PORT: String(e2bPort),
      BURROW_E2B__BUILD_IMAGES: 'false',
      BURROW_E2B__TEMPLATES: `base=${e2bImage ?? image}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  let exited = false;
  const exit = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const tail = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`burrow serve exited during start-up; log tail:\n${tail()}`);
    try {
      const response = await fetch(`${url}/api/v1/health`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`burrow serve did not answer within 60 s; log tail:\n${tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const instance = readFileSync(join(dataDir, 'instance'), 'utf8').trim();
  return {
    url,
    e2bUrl: `http://127.0.0.1:${e2bPort}`,
    pid: child.pid,
    dataDir,
    instance,
    log,
    tail,
    /** SIGTERM: the server drains its warm pool and (destroy_on_exit) destroys its sandboxes. */
    async stop(timeoutMs = 60_000) {
      if (exited) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
    kill() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}

/**
 * A small fetch client for the harness's own calls (the pool's state, the sandbox list) and for the scenarios that
 * measure what only Burrow does (fork, terminals, attach), which have no baseline to compare a client with. The
 * scenarios that compare Burrow with Docker drive it through the SDK and curl (burrow-systems.mjs). Every failure
 * throws with the server's message.
 */
export function burrowClient(url) {
  async function call(method, path, body, init = {}) {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      ...init,
    });
    if (!response.ok) {
      const text = await response.text();
      throw new Error(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
    }
    return response;
  }
  const json = async (method, path, body) => {
    const response = await call(method, path, body);
    return response.status === 204 ? undefined : response.json();
  };
  return {
    create: (request = {}) => json('POST', '/api/v1/sandboxes', request),
    destroy: (id) => json('DELETE', `/api/v1/sandboxes/${id}`),
    exec: (id, cmd) => json('POST', `/api/v1/sandboxes/${id}/exec`, { cmd }),
    startProcess: (id, cmd, options = {}) =>
      json('POST', `/api/v1/sandboxes/${id}/processes`, { cmd, ...options }),
    resources: () => json('GET', '/api/v1/resources'),
    list: () => json('GET', '/api/v1/sandboxes'),
    snapshot: (id, name) => json('POST', `/api/v1/sandboxes/${id}/snapshots`, { name }),
    restore: (snapshotId) => json('POST', `/api/v1/snapshots/${snapshotId}/restore`),
    fork: (id, count) => json('POST', `/api/v1/sandboxes/${id}/fork`, { count }),
    deleteSnapshot: (snapshotId) => json('DELETE', `/api/v1/snapshots/${snapshotId}`),
    /** Streams `body` (an async iterable of bytes) into a file; resolves with the bytes the server wrote. */
    async writeFile(id, path, body) {
      const response = await call(
        'PUT',
        `/api/v1/sandboxes/${id}/files?path=${encodeURIComponent(path)}`,
        undefined,
        {
          headers: { 'content-type': 'application/octet-stream' },
          body,
          duplex: 'half',
        },
      );
      return (await response.json()).bytes;
    },
    /** Reads a file, counting its bytes as they stream. */
    async readFile(id, path) {
      const response = await call('GET', `/api/v1/sandboxes/${id}/files?path=${encodeURIComponent(path)}`);
      let bytes = 0;
      for await (const chunk of response.body) bytes += chunk.length;
      return bytes;
    },
  };
}
