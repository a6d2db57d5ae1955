/**
 * A connection into a sandbox (a Duplex from Runtime.connectPort) given the few socket methods Node's HTTP client
 * may call on a connection, so the tunnel can stand in for a TCP socket. The proxy sets no socket timeouts (a
 * preview may stream for hours), so `setTimeout` only records a callback; TCP options mean nothing on a tunnel.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

type Shimmed = Duplex & Partial<Pick<Socket, 'setTimeout' | 'setNoDelay' | 'setKeepAlive' | 'ref' | 'unref'>>;

export function asSocket(duplex: Duplex): Socket {
  const socket = duplex as Shimmed;
  const self = () => socket as unknown as Socket;
  socket.setTimeout ??= ((_ms: number, callback?: () => void) => {
    if (callback !== undefined) duplex.once('timeout', callback);
    return self();
  }) as Socket['setTimeout'];
  socket.setNoDelay ??= self as unknown as Socket['setNoDelay'];
  socket.setKeepAlive ??= self as unknown as Socket['setKeepAlive'];
  socket.ref ??= self as unknown as Socket['ref'];
  socket.unref ??= self as unknown as Socket['unref'];
  return self();
}
