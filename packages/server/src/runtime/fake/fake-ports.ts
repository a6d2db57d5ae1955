/**
 * TCP servers inside the in-memory runtime's sandboxes, for tests of what rides on connectPort (preview URLs,
 * published ports): a test serves a port with a handler that gets each connection as a Duplex, exactly as a
 * program inside a real sandbox would get a socket; a port nobody serves refuses, as the agent reports it.
 */
import { Duplex } from 'node:stream';
import { BurrowError } from '@burrow/protocol';

export type PortHandler = (connection: Duplex) => void;

/** One end of an in-memory connection: what it writes, its peer reads; ending or destroying it reaches the peer. */
class PipeEnd extends Duplex {
  peer: PipeEnd | undefined;

  constructor() {
    super({ allowHalfOpen: true });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.peer?.push(chunk);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.peer !== undefined && !this.peer.destroyed) this.peer.destroy();
    callback(error);
  }
}

/** Two connected ends: what one writes, the other reads (a socketpair). */
export function duplexPair(): [Duplex, Duplex] {
  const a = new PipeEnd();
  const b = new PipeEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export class FakePorts {
  private readonly servers = new Map<string, Map<number, PortHandler>>();

  serve(id: string, port: number, handler: PortHandler): void {
    const ports = this.servers.get(id) ?? new Map<number, PortHandler>();
    ports.set(port, handler);
    this.servers.set(id, ports);
  }

  close(id: string, port?: number): void {
    if (port === undefined) this.servers.delete(id);
    else this.servers.get(id)?.delete(port);
  }

  connect(id: string, port: number): Duplex {
    const handler = this.servers.get(id)?.get(port);
    if (handler === undefined) {
      throw new BurrowError(
        'PORT_NOT_LISTENING',
        `nothing listens on port ${port} in the sandbox: start a server there first`,
        {
          port,
        },
      );
    }
    const [client, server] = duplexPair();
    handler(server);
    return client;
  }
}
