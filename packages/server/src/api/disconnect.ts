/**
 * An AbortSignal that fires when the client goes away before its response is complete, so the work done for it
 * (a process, an upload) stops instead of running for nobody.
 */
import type { FastifyReply } from 'fastify';

export interface Disconnect {
  signal: AbortSignal;
  /** Stops watching (call when the work is done). */
  dispose(): void;
}

export function watchDisconnect(reply: FastifyReply): Disconnect {
  const controller = new AbortController();
  const response = reply.raw;
  const onClose = () => {
    if (!response.writableFinished) controller.abort(new Error('the client closed the connection'));
  };
  response.once('close', onClose);
  return { signal: controller.signal, dispose: () => response.off('close', onClose) };
}
