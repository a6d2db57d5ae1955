import type { Socket } from 'node:net';
import { BurrowError } from '@burrow/protocol';
import type { AgentChannel } from './agent-client.js';

function send(socket: Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) {
      reject(new BurrowError('INTERNAL', 'the sandbox agent connection is closed'));
      return;
    }
    socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/** A request channel over a connected socket (one request per connection). */
export function channelOverSocket(socket: Socket): AgentChannel {
  // Errors surface through iteration of `incoming`; keep an unread error from crashing the process.
  socket.on('error', () => undefined);
  return {
    send: (data) => send(socket, data),
    incoming: socket,
    destroy: () => socket.destroy(),
  };
}
