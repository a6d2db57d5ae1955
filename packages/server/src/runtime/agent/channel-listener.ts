/**
 * The server's side of the agent channel (agent/PROTOCOL.md, "Channel"). Each sandbox gets a listening socket of
 * its own in a directory that is bound read-only into the sandbox; the agent connects out and keeps idle
 * connections ready, and a request takes one. A connection accepted on sandbox X's listener is X's: nothing the
 * sandbox can write decides where the server connects, because the server never connects anywhere.
 *
 * The sandbox is not trusted: idle connections are capped (the rest are closed at once), an idle connection that
 * sends anything is closed, and a flood of connections closes the listener for a cooldown.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { BurrowError } from '@burrow/protocol';
import { silentLogger, type Logger } from '../../logger.js';
import type { EgressHandler } from '../runtime.js';
import type { AgentChannel } from './agent-client.js';
import { channelOverSocket } from './socket-channel.js';

/** The socket's name inside its sandbox's channel directory. */
export const CHANNEL_SOCKET = 'agent.sock';
/** The egress socket next to it, for a proxy-only sandbox (agent/PROTOCOL.md, "Egress"). */
export const EGRESS_SOCKET = 'egress.sock';
/** Egress connections one sandbox may hold open at once; more are closed at once. */
const MAX_EGRESS_CONNECTIONS = 256;
/** Longest unix socket path the kernel takes (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

export interface ChannelOptions {
  /** Idle connections kept per sandbox; more are closed at once (the agent keeps two). */
  maxIdle?: number;
  /** Connections refused within one second that close the listener for `cooldownMs`. */
  floodLimit?: number;
  cooldownMs?: number;
  logger?: Logger;
}

interface Waiter {
  resolve(socket: Socket): void;
}

class SandboxListener {
  readonly idle: Socket[] = [];
  readonly waiters: Waiter[] = [];
  server: Server | undefined;
  egress: Server | undefined;
  refused = 0;
  windowStart = 0;
  cooling: NodeJS.Timeout | undefined;
  closed = false;

  constructor(
    readonly id: string,
    readonly socketPath: string,
  ) {}
}

export class AgentChannels {
  private readonly listeners = new Map<string, SandboxListener>();
  private readonly maxIdle: number;
  private readonly floodLimit: number;
  private readonly cooldownMs: number;
  private readonly logger: Logger;

  constructor(
    private readonly dir: string,
    options: ChannelOptions = {},
  ) {
    this.maxIdle = options.maxIdle ?? 4;
    this.floodLimit = options.floodLimit ?? 200;
    this.cooldownMs = options.cooldownMs ?? 2000;
    this.logger = options.logger ?? silentLogger;
    const longest = join(dir, 'x'.repeat(20), CHANNEL_SOCKET);
    if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `data_dir is too long for the agent's unix sockets (${longest.length} > ${MAX_SOCKET_PATH} bytes under ` +
          `${dir}): choose a shorter data_dir`,
      );
    }
  }

  /** The host directory to bind read-only into the sandbox (it holds only the listening socket). */
  directory(id: string): string {
    return join(this.dir, id);
  }

  /**
   * Listens for sandbox `id`'s agent (idempotent); with `egress`, also for its proxy-only programs' connections,
   * each handed to `egress` as sandbox `id`'s (the socket is in the sandbox's own directory). Returns the directory.
   */
  async listen(id: string, egress?: EgressHandler): Promise<string> {
    const existing = this.listeners.get(id);
    const directory = this.directory(id);
    if (existing !== undefined && !existing.closed) {
      if (egress !== undefined && existing.egress === undefined)
        await this.bindEgress(existing, directory, egress);
      return directory;
    }
    await mkdir(directory, { recursive: true, mode: 0o700 });
    await chmod(directory, 0o700);
    const listener = new SandboxListener(id, join(directory, CHANNEL_SOCKET));
    this.listeners.set(id, listener);
    await this.bind(listener);
    if (egress !== undefined) await this.bindEgress(listener, directory, egress);
    return directory;
  }

  private async bindEgress(
    listener: SandboxListener,
    directory: string,
    egress: EgressHandler,
  ): Promise<void> {
    const path = join(directory, EGRESS_SOCKET);
    await rm(path, { force: true });
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      egress(listener.id, socket);
    });
    server.maxConnections = MAX_EGRESS_CONNECTIONS;
    listener.egress = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) =>
      this.logger.warn({ err: error, sandbox: listener.id }, 'egress socket error'),
    );
    await chmod(path, 0o600);
  }

  private async bind(listener: SandboxListener): Promise<void> {
    await rm(listener.socketPath, { force: true });
    const server = createServer({ pauseOnConnect: false }, (socket) => this.accept(listener, socket));
    listener.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listener.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) =>
      this.logger.warn({ err: error, sandbox: listener.id }, 'agent channel error'),
    );
    // Only root (the server, and the agent) may connect: non-root processes in the sandbox cannot.
    await chmod(listener.socketPath, 0o600);
  }

  private accept(listener: SandboxListener, socket: Socket): void {
    socket.on('error', () => undefined);
    const waiter = listener.waiters.shift();
    if (waiter !== undefined) {
      waiter.resolve(socket);
      return;
    }
    if (listener.idle.length >= this.maxIdle) {
      socket.destroy();
      this.countRefused(listener);
      return;
    }
    listener.idle.push(socket);
    const drop = () => {
      const index = listener.idle.indexOf(socket);
      if (index >= 0) listener.idle.splice(index, 1);
      socket.destroy();
    };
    // An idle connection speaks only after a request: anything it sends first is a protocol violation.
    socket.on('data', drop);
    socket.once('end', drop);
    socket.once('close', drop);
  }

  private countRefused(listener: SandboxListener): void {
    const now = Date.now();
    if (now - listener.windowStart > 1000) {
      listener.windowStart = now;
      listener.refused = 0;
    }
    listener.refused += 1;
    if (listener.refused < this.floodLimit || listener.cooling !== undefined) return;
    this.logger.warn(
      { sandbox: listener.id, cooldownMs: this.cooldownMs },
      'the sandbox floods its agent channel with connections: closing the channel for a while',
    );
    listener.server?.close();
    listener.server = undefined;
    listener.cooling = setTimeout(() => {
      listener.cooling = undefined;
      listener.refused = 0;
      if (!listener.closed) {
        this.bind(listener).catch((error: unknown) =>
          this.logger.error({ err: error, sandbox: listener.id }, 'could not reopen an agent channel'),
        );
      }
    }, this.cooldownMs);
    listener.cooling.unref();
  }

  /** Takes an idle connection to sandbox `id`'s agent, waiting up to `timeoutMs` for one. */
  async open(id: string, timeoutMs: number): Promise<AgentChannel> {
    const listener = this.listeners.get(id);
    if (listener === undefined || listener.closed) await this.listen(id);
    const current = this.listeners.get(id) as SandboxListener;
    const socket = current.idle.shift() ?? (await this.waitForConnection(current, timeoutMs));
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('close');
    socket.pause();
    return channelOverSocket(socket);
  }

  private waitForConnection(listener: SandboxListener, timeoutMs: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve: (socket) => {
          clearTimeout(timer);
          resolve(socket);
        },
      };
      const timer = setTimeout(() => {
        const index = listener.waiters.indexOf(waiter);
        if (index >= 0) listener.waiters.splice(index, 1);
        reject(
          new BurrowError(
            'AGENT_UNREACHABLE',
            `the agent in sandbox ${listener.id} did not connect within ${Math.round(timeoutMs / 1000)} s`,
          ),
        );
      }, timeoutMs);
      listener.waiters.push(waiter);
    });
  }

  /** Stops listening for sandbox `id` and removes its directory. */
  async close(id: string): Promise<void> {
    const listener = this.listeners.get(id);
    this.listeners.delete(id);
    if (listener !== undefined) this.shut(listener);
    await rm(this.directory(id), { recursive: true, force: true });
  }

  private shut(listener: SandboxListener): void {
    listener.closed = true;
    if (listener.cooling !== undefined) clearTimeout(listener.cooling);
    listener.server?.close();
    listener.egress?.close();
    for (const socket of listener.idle.splice(0)) socket.destroy();
  }

  /** Stops every listener (server shutdown); directories stay, so a restarted server listens again. */
  closeAll(): void {
    for (const listener of this.listeners.values()) this.shut(listener);
    this.listeners.clear();
  }
}
