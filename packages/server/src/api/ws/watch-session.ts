/**
 * One file watch over a WebSocket: `{"type":"watching"}` once the watch is in place, then one JSON message per
 * event, until the client closes (or the sandbox stops: close 1000). The runtime's events are read as they come;
 * while the client is slow (its unsent bytes above a bound) events are dropped rather than queued, and one
 * `overflow` message goes out as soon as it has caught up, so a slow client costs bounded memory and always
 * learns that it missed something.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { SandboxProcesses } from '../../engine/processes.js';
import type { SandboxPath, WatchStream } from '../../runtime/runtime.js';
import { watchEventToWire } from '../process-wire.js';
import { closeSocket, failSocket, sendJson, startHeartbeat, streamFailure } from './ws-kit.js';

/** Unsent bytes above which events are dropped for this client (about a thousand events). */
export const WATCH_QUEUE_BYTES = 256 * 1024;
/** How often a client that overflowed is checked for having caught up. */
const CATCH_UP_POLL_MS = 25;

export interface WatchSessionOptions {
  socket: WebSocket;
  sandboxId: string;
  path: SandboxPath;
  recursive: boolean;
  processes: SandboxProcesses;
  log: FastifyBaseLogger;
  queueBytes?: number;
}

export class WatchSession {
  private watch: WatchStream | undefined;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  /** Events were dropped and the client has not been told yet. */
  private overflowed = false;

  constructor(private readonly options: WatchSessionOptions) {}

  private get socket(): WebSocket {
    return this.options.socket;
  }

  private get queueBytes(): number {
    return this.options.queueBytes ?? WATCH_QUEUE_BYTES;
  }

  start(): void {
    // Clients have nothing to say on this stream; whatever they send is ignored.
    this.socket.on('close', () => this.cleanup());
    this.heartbeat = startHeartbeat(this.socket);
    void this.pump();
  }

  private async pump(): Promise<void> {
    const { sandboxId, path, recursive, processes } = this.options;
    try {
      const watch = await processes.watch(sandboxId, path, { recursive });
      if (this.closed) {
        await watch.close();
        return;
      }
      this.watch = watch;
      void sendJson(this.socket, { type: 'watching', path: Buffer.from(path).toString('utf8'), recursive });
      for await (const event of watch) {
        if (this.closed) return;
        if (event.type === 'overflow' || this.socket.bufferedAmount > this.queueBytes) {
          this.markOverflow();
          continue;
        }
        this.flushOverflow();
        void sendJson(this.socket, watchEventToWire(event));
      }
      this.close(1000, 'watch ended');
    } catch (error) {
      this.fail(error);
    }
  }

  private markOverflow(): void {
    if (this.overflowed) return;
    this.overflowed = true;
    this.poll = setInterval(() => {
      if (this.socket.bufferedAmount <= this.queueBytes / 2) this.flushOverflow();
    }, CATCH_UP_POLL_MS);
  }

  private flushOverflow(): void {
    if (!this.overflowed) return;
    this.overflowed = false;
    clearInterval(this.poll);
    void sendJson(this.socket, { type: 'overflow' });
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.closed = true;
    failSocket(this.socket, streamFailure(error, this.options.log, 'watch stream'));
    this.cleanup();
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    closeSocket(this.socket, code, reason);
    this.cleanup();
  }

  private cleanup(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearInterval(this.poll);
    const watch = this.watch;
    this.watch = undefined;
    if (watch !== undefined) void watch.close().catch(() => undefined);
  }
}
