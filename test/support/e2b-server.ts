/**
 * `burrow serve --e2b` as a child process for E2B's SDKs: the export lines it prints are what the tests put into
 * `process.env`, as a user pastes them into a shell. The `base` template maps to the small test image.
 */
import { rm } from 'node:fs/promises';
import { removeInstance, spawnServer, type ChildServer } from './child-server.js';
import { makeDataDir, TEST_IMAGE } from './server.js';

export interface E2bServer {
  server: ChildServer;
  /** NAME -> value from the `export` lines of the ready line (`e2b_env`). */
  exports: Record<string, string>;
  /** Puts the exports into this process's environment (E2B's SDKs read it at each call). */
  useExports(apiKey: string): void;
  close(): Promise<void>;
}

export interface E2bServerOptions {
  apiKey?: string;
  /** Extra BURROW_* settings. */
  env?: Record<string, string>;
}

async function readyExports(server: ChildServer): Promise<string[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const line of server.output().split('\n')) {
      if (!line.includes('"e2b_env"')) continue;
      return (JSON.parse(line) as { e2b_env: string[] }).e2b_env;
    }
    if (Date.now() > deadline) throw new Error(`burrow serve printed no E2B exports:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startE2bServer(options: E2bServerOptions = {}): Promise<E2bServer> {
  const server = await spawnServer({
    dataDir: await makeDataDir(),
    args: [
      '--e2b',
      '--destroy-on-exit',
      ...(options.apiKey === undefined ? [] : ['--api-key', options.apiKey]),
    ],
    env: {
      BURROW_E2B__PORT: '0',
      BURROW_E2B__BUILD_IMAGES: 'false',
      BURROW_E2B__TEMPLATES: `base=${TEST_IMAGE}`,
      ...options.env,
    },
  });
  const lines = await readyExports(server);
  const exports: Record<string, string> = {};
  for (const line of lines) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) throw new Error(`not an export line: ${line}`);
    exports[match[1]] = match[2];
  }
  return {
    server,
    exports,
    useExports(apiKey) {
      for (const [name, value] of Object.entries(exports)) {
        process.env[name] = value === '$BURROW_API_KEY' ? apiKey : value;
      }
    },
    async close() {
      server.process.kill('SIGTERM');
      await server.exited;
      await removeInstance(server.instance);
      await rm(server.dataDir, { recursive: true, force: true });
    },
  };
}
