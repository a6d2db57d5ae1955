/**
 * TCP servers inside the in-memory runtime's sandboxes, for tests of what rides on connectPort (preview URLs,
 * published ports): a test serves a port with a handler that gets each connection as a Duplex, exactly as a
 * program inside a real sandbox would get a socket; a port nobody serves refuses, as the agent reports it.
 */
import { Duplex, PassThrough } from 'node:stream';
import { BurrowError } from '@burrow/protocol';

export type PortHandler = (connection: Duplex) => void;

/** Two connected ends: what one writes, the other reads (a socketpair). */
export function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const end = (readable: PassThrough, writable: PassThrough) => Duplex.from({ readable, writable });
  const a = end(bToA, aToB);
  const b = end(aToB, bToA);
  const closeBoth = () => {
    aToB.destroy();
    bToA.destroy();
  };
  a.once('close', closeBoth);
  b.once('close', closeBoth);
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
