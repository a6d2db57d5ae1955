/**
 * The checks every request passes before routing reaches a handler, in this order: with auth off, the loopback
 * guard (a foreign Host or a cross-site write is 403 before anything else), CORS headers (so even a 429 or
 * 401 is readable by an allowed page), the rate limit (health, preflights and WebSocket upgrades included, as in
 * Den; a tenant may have its own), the preflight answer (never needs a key), then authentication, which sets the
 * request's caller (callers.ts runs the handler as it).
 */
import { BurrowError } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { ANONYMOUS_CALLER, type Caller } from '../engine/caller.js';
import type { ApiKeyAuth, AuthResult } from './auth.js';
import { NOBODY } from './callers.js';
import type { LoopbackGuard } from './loopback-guard.js';
import { applyCors, type Origins } from './cors.js';
import { sendError } from './errors.js';
import { clientAddress, rateLimitKey, type RateLimit, type TokenBuckets } from './rate-limit.js';

export interface GateOptions {
  auth: ApiKeyAuth;
  guard: LoopbackGuard;
  origins: Origins;
  buckets: TokenBuckets;
  trustProxy: boolean;
  /** A tenant's own rate limit, when it has one. */
  rateLimitFor?: ((caller: Caller) => RateLimit | undefined) | undefined;
}

function callerOf(result: AuthResult, address: string): Caller {
  if (result.kind === 'off') return { ...ANONYMOUS_CALLER, address };
  if (result.kind === 'valid') return { ...result.caller, address };
  return { ...NOBODY, address };
}

const SWEEP_INTERVAL_MS = 60_000;

export function installGate(app: FastifyInstance, options: GateOptions): void {
  const { auth, guard, origins, buckets, trustProxy, rateLimitFor } = options;
  const sweeper = setInterval(() => buckets.sweep(), SWEEP_INTERVAL_MS);
  sweeper.unref();
  app.addHook('onClose', (_instance, done) => {
    clearInterval(sweeper);
    done();
  });

  app.addHook('onRequest', (request, reply, done) => {
    const refused = guard.check(request);
    if (refused !== undefined) {
      sendError(reply, refused);
      return;
    }
    const preflight = applyCors(request, reply, origins);
    const authResult = auth.check(request);
    request.caller = callerOf(authResult, clientAddress(request, trustProxy));
    const limit = authResult.kind === 'valid' ? rateLimitFor?.(authResult.caller) : undefined;
    const taken = buckets.take(rateLimitKey(request, authResult, trustProxy), limit);
    if (!taken.allowed) {
      reply.header('retry-after', String(taken.retryAfterSeconds));
      sendError(reply, new BurrowError('RATE_LIMITED', 'rate limit exceeded'));
      return;
    }
    if (preflight) {
      reply.code(204).send();
      return;
    }
    try {
      auth.enforce(request, authResult);
    } catch (error) {
      reply.header('www-authenticate', 'Bearer');
      sendError(reply, error as BurrowError);
      return;
    }
    done();
  });
}
