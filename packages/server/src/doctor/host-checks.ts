/** Host checks of this machine itself: the agent and transport, FUSE, memory, disk, the data directory, the port. */
import { constants } from 'node:fs';
import { access, stat, statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { freemem, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { isBurrowError } from '@burrow/protocol';
import { builtAgentBinary } from '../runtime/agent/agent-binary.js';
import { chooseTransport } from '../runtime/docker/transport.js';
import { s3fsAvailable } from '../storage/s3/fuse.js';
import { formatBytes } from '../util/format.js';
import { engineAddress } from './engine-checks.js';
import type { Check } from './types.js';

const GIB = 1024 ** 3;
const LOW_MEMORY_BYTES = GIB;
const LOW_DISK_BYTES = 2 * GIB;

export const agentCheck: Check = async (context) => {
  const requested = context.config.runtime.agent_transport;
  const binary = builtAgentBinary();
  const address = context.engine?.address ?? (await engineAddress(context.docker).catch(() => ''));
  try {
    const choice = chooseTransport(requested === 'auto' ? undefined : requested, binary, address);
    const agent = binary === undefined ? 'agent binary missing' : 'agent binary built';
    const detail = `${agent}; transport ${choice.transport}: ${choice.reason}`;
    if (choice.transport === 'engine' && requested === 'auto') {
      return {
        status: 'warn',
        detail,
        fix:
          binary === undefined
            ? 'apt-get install gcc libc6-dev, then npm run build, for the faster agent socket path'
            : 'run Burrow on the Docker host for the faster agent socket path',
      };
    }
    return { status: 'ok', detail };
  } catch (error) {
    if (!isBurrowError(error)) throw error;
    return { status: 'fail', detail: error.message.split(':')[0] ?? error.message, fix: error.message };
  }
};

export const fuseCheck: Check = async () => {
  const available = await s3fsAvailable();
  if (available.ok) return { status: 'ok', detail: 's3fs and /dev/fuse are there for S3 FUSE mounts' };
  return {
    status: 'warn',
    detail: 'S3 FUSE mounts (sandbox.allow_s3_fuse) will be refused',
    fix: available.reason,
  };
};

export const memoryCheck: Check = () => {
  const free = freemem();
  const total = totalmem();
  const detail = `${formatBytes(free)} available of ${formatBytes(total)}`;
  if (free < LOW_MEMORY_BYTES)
    return Promise.resolve({
      status: 'warn',
      detail: `${detail}: little room for sandboxes`,
      fix: 'free memory, or lower sandbox.max_sandboxes and sandbox.warm_pool_size',
    });
  return Promise.resolve({ status: 'ok', detail });
};

/** The path itself or its nearest existing parent (what a mkdir -p would create under). */
async function nearestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      await stat(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

async function freeBytes(path: string): Promise<number | undefined> {
  try {
    const fs = await statfs(await nearestExisting(path));
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}

export const diskCheck: Check = async ({ config, engine }) => {
  const places: { name: string; path: string }[] = [{ name: 'data dir', path: config.data_dir }];
  // Docker's root is on this machine only when the engine is (a unix socket).
  if (engine?.info.DockerRootDir !== undefined && engine.address.startsWith('unix://'))
    places.push({ name: 'Docker', path: engine.info.DockerRootDir });
  const found = await Promise.all(
    places.map(async (place) => ({ ...place, free: await freeBytes(place.path) })),
  );
  const detail = found
    .map(
      (place) =>
        `${place.free === undefined ? '?' : formatBytes(place.free)} free for ${place.name} (${place.path})`,
    )
    .join(', ');
  const low = found.filter((place) => place.free !== undefined && place.free < LOW_DISK_BYTES);
  if (low.length > 0)
    return {
      status: 'warn',
      detail,
      fix: `free disk space under ${low.map((place) => place.path).join(' and ')} (images and snapshots need room)`,
    };
  return { status: 'ok', detail };
};

export const dataDirCheck: Check = async ({ config }) => {
  const dir = config.data_dir;
  const existing = await nearestExisting(dir);
  const info = await stat(existing);
  if (existing === dir && !info.isDirectory())
    return { status: 'fail', detail: `${dir} is not a directory`, fix: 'choose another --data-dir' };
  try {
    await access(existing, constants.W_OK | constants.X_OK);
  } catch {
    const uid = process.getuid?.() ?? '?';
    return {
      status: 'fail',
      detail: `${existing} is not writable by uid ${uid} (owner uid ${info.uid}, mode ${(info.mode & 0o777).toString(8)})`,
      fix: `run as the owner, chown it, or choose another --data-dir`,
    };
  }
  if (existing !== dir) return { status: 'ok', detail: `${dir} will be created (mode 700)` };
  if ((info.mode & 0o077) !== 0)
    return {
      status: 'warn',
      detail: `${dir} is open to other users (mode ${(info.mode & 0o777).toString(8)})`,
      fix: `chmod 700 ${dir} (it holds the state database and the sandboxes' agent sockets)`,
    };
  return { status: 'ok', detail: `${dir} is writable (mode 700)` };
};

function listenOnce(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}

/** Whether what listens there is a Burrow server (its open health route answers). */
async function burrowAnswers(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json()) as { features?: unknown };
    return Array.isArray(body.features);
  } catch {
    return false;
  }
}

export const portCheck: Check = async ({ config, forServe, timeoutMs }) => {
  const { host, port } = config.server;
  if (port === 0) return { status: 'ok', detail: `port 0: a free port on ${host} is picked at start` };
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const error = await listenOnce(host, port);
  if (error === undefined) return { status: 'ok', detail: `${where} is free` };
  if (error.code === 'EADDRINUSE') {
    const probeHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : where.split(`:${port}`)[0];
    if (await burrowAnswers(`http://${probeHost}:${port}`, Math.min(timeoutMs, 3000))) {
      return {
        status: forServe ? 'fail' : 'warn',
        detail: `a Burrow server already answers on ${where}`,
        fix: 'that one is running; a second burrow serve needs another --port (or stop the first)',
      };
    }
    return {
      status: 'fail',
      detail: `${where} is in use by another program`,
      fix: `stop it (ss -ltnp 'sport = :${port}' shows which), or choose another --port`,
    };
  }
  if (error.code === 'EACCES')
    return {
      status: 'fail',
      detail: `no permission to listen on ${where}`,
      fix: 'use a port above 1023, or run as root',
    };
  return {
    status: 'fail',
    detail: `cannot listen on ${where}: ${error.code ?? error.message}`,
    fix: '--host must be an address of this machine (127.0.0.1 or 0.0.0.0)',
  };
};
