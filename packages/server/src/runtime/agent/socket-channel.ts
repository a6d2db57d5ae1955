import type { Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { BurrowError } from '@burrow/protocol';
import type { AgentChannel } from './agent-client.js';

/**
 * Bytes a channel may hold queued for the agent before a send waits. A send that waited for each write to be
 * flushed would serialise a transfer (read a piece of the HTTP body, wait for the agent to take it, read the next);
 * queueing up to this much lets the body keep arriving while the agent writes, with memory still bounded.
 */
export const CHANNEL_QUEUE_BYTES = 4 * 1024 * 1024;

/**
 * Writes `data` and resolves at once while less than CHANNEL_QUEUE_BYTES are queued, else once the stream drained
 * (or failed). A write error also surfaces on the next send and through the channel's incoming side.
 */
export function queuedSend(stream: Writable, data: Buffer | readonly Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(new BurrowError('AGENT_UNREACHABLE', 'the sandbox agent connection is closed'));
      return;
    }
    if (Buffer.isBuffer(data)) stream.write(data);
    else {
      // Corked, the parts leave in one writev.
      stream.cork();
      for (const part of data) stream.write(part);
      stream.uncork();
    }
    if (stream.writableLength < CHANNEL_QUEUE_BYTES) {
      resolve();
      return;
    }
    const done = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = () => done();
    const onClose = () => done(new BurrowError('AGENT_UNREACHABLE', 'the sandbox agent connection closed'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  });
}

/** A request channel over a connected socket (one request per connection). */
export function channelOverSocket(socket: Socket): AgentChannel {
  // Errors surface through iteration of `incoming`; keep an unread error from crashing the process.
  socket.on('error', () => undefined);
  return {
    send: (data) => queuedSend(socket, data),
    incoming: socket,
    destroy: () => socket.destroy(),
  };
}
