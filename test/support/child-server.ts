/**
 * `burrow serve` as a child process (the built CLI), for tests that kill, signal or measure the server process
 * itself: crash recovery, shutdown, memory while streaming. Same defaults as the in-process test server: loopback,
 * a port the system picks, the test image, no image build, rate limits out of the way, JSON logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Dockerode from 'dockerode';
import { TEST_IMAGE } from './server.js';

export const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

export interface ChildServer {
  url: string;
  pid: number;
  dataDir: string;
  /** The `burrow.instance` label of this data directory's containers. */
  instance: string;
  process: ChildProcess;
  /** Everything the server wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or the signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ChildServerOptions {
  dataDir: string;
  /** Extra `burrow serve` arguments, e.g. `--destroy-on-exit`. */
  args?: string[];
  /** Extra BURROW_* settings. */
  env?: Record<string, string>;
}

export async function spawnServer(options: ChildServerOptions): Promise<ChildServer> {
  // The developer's own BURROW_* variables must not reach the server.
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('BURROW_')) env[name] = value;
  }
  Object.assign(env, {
    BURROW_SANDBOX__DEFAULT_IMAGE: TEST_IMAGE,
    BURROW_SANDBOX__BUILD_DEFAULT_IMAGE: 'false',
    BURROW_SERVER__RATE_LIMIT_RPS: '100000',
    BURROW_SERVER__RATE_LIMIT_BURST: '100000',
    BURROW_LOG__FORMAT: 'json',
    BURROW_LOG__LEVEL: 'info',
    ...options.env,
  });
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      options.dataDir,
      ...(options.args ?? []),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`burrow serve did not start in 60 s:\n${output}`)),
      60_000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      for (const line of output.split('\n')) {
        if (!line.includes('burrow server started')) continue;
        try {
          const started = JSON.parse(line) as { url?: string };
          if (started.url !== undefined) {
            clearTimeout(timer);
            resolve(started.url);
          }
        } catch {
          // a partial line; the rest comes with the next chunk
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`burrow serve exited (${code ?? signal}) before it started:\n${output}`));
    });
  });
  const instance = (await readFile(join(options.dataDir, 'instance'), 'utf8')).trim();
  return {
    url,
    pid: child.pid!,
    dataDir: options.dataDir,
    instance,
    process: child,
    output: () => output,
    exited,
  };
}

const docker = new Dockerode();

/** The containers of one data directory, as Docker sees them. */
export async function instanceContainers(instance: string): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({
    all: true,
    filters: { label: ['burrow.managed=true', `burrow.instance=${instance}`] },
  });
}

/** Removes every container and snapshot image of one data directory (test clean-up after a failure). */
export async function removeInstance(instance: string): Promise<void> {
  const containers = await instanceContainers(instance);
  await Promise.all(
    containers.map((container) =>
      docker
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  const images = await docker.listImages({ filters: { label: [`burrow.instance=${instance}`] } });
  for (const image of images)
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => undefined);
}
