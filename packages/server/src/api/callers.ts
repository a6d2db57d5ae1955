/**
 * The caller of each request, for every route at once: the gate decides it (`request.caller`), and this module runs
 * the handler and everything it starts inside the engine's CallerContext, so every engine call made for the
 * request sees it. Fastify parses a body in events of the request stream, outside the context of the hooks
 * before it, so the context is entered in `preHandler`, right before the handler. A WebSocket's messages are
 * events of its connection: its handler and every event its socket emits run as the caller too. Routes marked
 * `config: { access: 'admin' }` need an admin key (403 otherwise).
 */
import { BurrowError } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { Caller, CallerContext } from '../engine/caller.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the gate for every request that reaches routing. */
    caller: Caller | null;
  }
  interface FastifyContextConfig {
    /** `admin`: only admin keys (the config file's, or stored ones made with --admin). */
    access?: 'admin';
  }
}

/** A request without a valid key on an open route: it sees no sandbox. */
export const NOBODY: Caller = Object.freeze({
  keyId: 'none',
  keyName: 'unauthenticated',
  tenant: '',
  admin: false,
});

/** Installs the caller hooks; call before the WebSocket plugin and before any route is added. */
export function installCallers(app: FastifyInstance, callers: CallerContext): void {
  app.decorateRequest('caller', null);

  app.addHook('onRoute', (route) => {
    const wsHandler = route.wsHandler;
    if (typeof wsHandler !== 'function') return;
    route.wsHandler = function (this: FastifyInstance, socket: WebSocket, request) {
      const caller = request.caller ?? NOBODY;
      callers.bindEmitter(socket, caller);
      return callers.run(caller, () => wsHandler.call(this, socket, request));
    };
  });

  app.addHook('preHandler', (request, reply, done) => {
    const caller = request.caller ?? NOBODY;
    if (request.routeOptions.config.access === 'admin' && !caller.admin) {
      sendError(
        reply,
        new BurrowError(
          'FORBIDDEN',
          'this needs an admin key: a key of the config file (auth.api_keys) or one made with burrow keys create --admin',
        ),
      );
      return;
    }
    callers.run(caller, done);
  });
}
