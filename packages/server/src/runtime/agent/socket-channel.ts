import { connect, type Socket } from 'node:net';
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

/** A channel over the agent's unix socket; one connection per request. */
export function openSocketChannel(path: string): Promise<AgentChannel> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      // Errors surface through iteration of `incoming`; keep an unread error from crashing the process.
      socket.on('error', () => undefined);
      resolve({
        send: (data) => send(socket, data),
        incoming: socket,
        destroy: () => socket.destroy(),
      });
    });
  });
}
