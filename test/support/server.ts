/**
 * A real Burrow server for end-to-end tests: loopback, a port the system picks, a throwaway data directory, the
 * local test image as the default, no image build, rate limits out of the way. `close()` destroys every sandbox it
 * made.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig, startServer, type RunningServer } from '@burrow/server';

export interface TestServer {
  url: string;
  dataDir: string;
  server: RunningServer;
  close(): Promise<void>;
}

export interface TestServerOptions {
  /** Turn auth on with these keys. */
  apiKeys?: string[];
  /** Extra config (deep-merged over the test defaults), e.g. `{ server: { rate_limit_rps: 1 } }`. */
  config?: Record<string, unknown>;
}

export const TEST_IMAGE = 'burrow-test/debian:latest';

/** A loopback port nothing listens on right now (for "server unreachable" cases). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** A loopback port in [min, max] nothing listens on right now (a server's host_port_range is 20000-29999 by default). */
export async function freePortIn(min = 20_000, max = 29_999): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${min}-${max}`);
}

type Tree = Record<string, unknown>;

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key];
    const bothObjects = [value, existing].every(
      (item) => typeof item === 'object' && item !== null && !Array.isArray(item),
    );
    out[key] = bothObjects ? merge(existing as Tree, value as Tree) : value;
  }
  return out;
}

/**
 * A fresh data directory whose instance name (the `burrow.instance` label of its containers) carries this test
 * run's id, so the global teardown can tell this run's leftovers from another run's sandboxes.
 */
export async function makeDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'burrow-e2e-'));
  const run = process.env.TEST_BURROW_RUN ?? 'norun';
  await writeFile(join(dataDir, 'instance'), `e2e-${run}-${randomBytes(4).toString('hex')}\n`, {
    mode: 0o600,
  });
  return dataDir;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await makeDataDir();
  let flags: Tree = {
    server: { host: '127.0.0.1', port: 0, rate_limit_rps: 100_000, rate_limit_burst: 100_000 },
    data_dir: dataDir,
    sandbox: { default_image: TEST_IMAGE, build_default_image: false },
    log: { level: 'warn', format: 'json' },
  };
  if (options.apiKeys !== undefined) flags.auth = { enabled: true, api_keys: options.apiKeys };
  flags = merge(flags, options.config ?? {});
  // env: {} so a developer's BURROW_* variables do not leak into the test server.
  const config = loadConfig({ flags, env: {} });
  const server = await startServer(config, { logger: createLogger(config, process.stderr) });
  return {
    url: server.url,
    dataDir,
    server,
    close: async () => {
      await server.close({ destroySandboxes: true });
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
