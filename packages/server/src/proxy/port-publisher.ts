/**
 * Published ports: a TCP listener on 127.0.0.1:<host port> per mapping, each connection spliced to a connection the
 * agent makes to the sandbox port inside the sandbox (Runtime.connectPort). The same in every network mode (none
 * included) and isolation runtime; Docker publishes nothing. A listener is held from create (or POST /ports) until
 * the mapping is removed or the sandbox is destroyed, across stops; while the sandbox is stopped, or nothing listens
 * inside, connections are closed at once.
 */
import { createServer, type Server } from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { BurrowError } from '@burrow/protocol';
import type { Logger } from '../logger.js';
import type { PortMapping } from '../runtime/runtime.js';

export interface PortPublisherOptions {
  connect(sandboxId: string, port: number): Promise<Duplex>;
  logger: Logger;
  /** Address the listeners bind (127.0.0.1). */
  host?: string;
  /** Connections one published port carries at once; more are closed. */
  maxConnections?: number;
}

interface Published {
  sandboxId: string;
  mapping: PortMapping;
  server: Server;
}

export class PortPublisher {
  private readonly byHostPort = new Map<number, Published>();
  private readonly host: string;

  constructor(private readonly options: PortPublisherOptions) {
    this.host = options.host ?? '127.0.0.1';
  }

  /** Binds a mapping; 409 CONFLICT when the host port is taken (by another mapping or any other program). */
  async bind(sandboxId: string, mapping: PortMapping): Promise<void> {
    const existing = this.byHostPort.get(mapping.hostPort);
    if (existing !== undefined) {
      if (existing.sandboxId === sandboxId && existing.mapping.sandboxPort === mapping.sandboxPort) return;
      throw conflict(mapping.hostPort, existing.sandboxId === sandboxId ? 'this sandbox' : 'another sandbox');
    }
    const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
      socket.on('error', () => undefined);
      this.options.connect(sandboxId, mapping.sandboxPort).then(
        (tunnel) => {
          tunnel.on('error', () => undefined);
          pipeline(socket, tunnel, socket, () => {
            socket.destroy();
            tunnel.destroy();
          });
          socket.resume();
        },
        (error: unknown) => {
          this.options.logger.debug(
            { sandbox: sandboxId, port: mapping.sandboxPort, err: error },
            'published port: no connection into the sandbox',
          );
          socket.destroy();
        },
      );
    });
    server.maxConnections = this.options.maxConnections ?? 1024;
    const entry: Published = { sandboxId, mapping, server };
    this.byHostPort.set(mapping.hostPort, entry);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: this.host, port: mapping.hostPort, exclusive: true }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      this.byHostPort.delete(mapping.hostPort);
      const code = (error as { code?: string }).code;
      if (code === 'EADDRINUSE') throw conflict(mapping.hostPort, 'another program on this host');
      if (code === 'EACCES') {
        throw new BurrowError(
          'CONFLICT',
          `host port ${mapping.hostPort} needs privileges this server does not have: choose a host_port above 1023`,
          { host_port: mapping.hostPort },
        );
      }
      throw error;
    }
    server.on('error', (error) =>
      this.options.logger.warn(
        { err: error, sandbox: sandboxId, hostPort: mapping.hostPort },
        'published port error',
      ),
    );
  }

  /** Binds every mapping or none (a conflict releases the ones bound before it). */
  async bindAll(sandboxId: string, mappings: readonly PortMapping[]): Promise<void> {
    const bound: PortMapping[] = [];
    try {
      for (const mapping of mappings) {
        await this.bind(sandboxId, mapping);
        bound.push(mapping);
      }
    } catch (error) {
      for (const mapping of bound) await this.unbind(sandboxId, mapping.hostPort);
      throw error;
    }
  }

  async unbind(sandboxId: string, hostPort: number): Promise<void> {
    const entry = this.byHostPort.get(hostPort);
    if (entry === undefined || entry.sandboxId !== sandboxId) return;
    this.byHostPort.delete(hostPort);
    await new Promise<void>((resolve) => entry.server.close(() => resolve()));
  }

  async unbindSandbox(sandboxId: string): Promise<void> {
    const ports = [...this.byHostPort.values()].filter((entry) => entry.sandboxId === sandboxId);
    await Promise.all(ports.map((entry) => this.unbind(sandboxId, entry.mapping.hostPort)));
  }

  /** Whether this mapping's listener is up. */
  isBound(sandboxId: string, hostPort: number): boolean {
    return this.byHostPort.get(hostPort)?.sandboxId === sandboxId;
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.byHostPort.values()].map((entry) => this.unbind(entry.sandboxId, entry.mapping.hostPort)),
    );
  }
}

function conflict(hostPort: number, holder: string): BurrowError {
  return new BurrowError(
    'CONFLICT',
    `host port ${hostPort} is already in use (by ${holder}): choose another host_port`,
    { host_port: hostPort },
  );
}
