/** What every envd call knows: the sandbox it is for (set by the endpoint's routing). */
import { createContextKey, type ContextValues, type HandlerContext } from '@connectrpc/connect';
import { userFromAuthorization } from './users.js';

export interface EnvdTarget {
  sandboxId: string;
}

export const targetKey = createContextKey<EnvdTarget | undefined>(undefined, { description: 'envd target' });

export function sandboxOf(context: { values: ContextValues }): string {
  const target = context.values.get(targetKey);
  // The endpoint sets it before any handler runs; its absence is a wiring bug, not a client error.
  if (target === undefined) throw new Error('envd call without a sandbox target');
  return target.sandboxId;
}

/** The E2B user a call names (Basic auth), undefined for the default. */
export function userOf(context: HandlerContext): string | undefined {
  return userFromAuthorization(context.requestHeader.get('authorization'));
}

/** The keepalive interval a client asks for (`Keepalive-Ping-Interval`, seconds), bounded to 1 s..5 min. */
export function keepaliveMsOf(context: HandlerContext, fallbackMs = 50_000): number {
  const seconds = Number(context.requestHeader.get('keepalive-ping-interval'));
  if (!Number.isFinite(seconds) || seconds <= 0) return fallbackMs;
  return Math.min(Math.max(seconds, 1), 300) * 1000;
}
