/**
 * API-key authentication: `X-API-Key: <key>` (Den's header) or `Authorization: Bearer <key>`, and on a WebSocket
 * upgrade the `burrow.key.<base64url>` subprotocol (browsers cannot send headers there). A key resolves to its
 * caller (engine/keys.ts): the config file's keys, compared as SHA-256 digests in constant time against every one,
 * are admin keys; stored keys are looked up by digest and carry their tenant. Keys are never logged.
 */
import { BurrowError, WS_KEY_PROTOCOL_PREFIX, WS_PROTOCOL } from '@burrow/protocol';
import type { FastifyRequest } from 'fastify';
import type { Caller } from '../engine/caller.js';
import { ConfigKeys, type KeyResolver } from '../engine/keys.js';

export interface AuthOptions {
  enabled: boolean;
  /** The config file's keys (admin keys); used when `keys` is not given. */
  apiKeys: string[];
  /** Resolves every key (config and stored); default: the config file's keys only. */
  keys?: KeyResolver | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Overrides the default (routes under /api/ need a key, others are open), e.g. for an MCP endpoint. */
    auth?: 'open' | 'required';
  }
}

/** What a request presented: `valid` carries the caller the key stands for (its id is the rate-limit identity). */
export type AuthResult =
  { kind: 'off' } | { kind: 'missing' } | { kind: 'invalid' } | { kind: 'valid'; caller: Caller };

/** Den's always-open API routes. */
const OPEN_API_ROUTES = new Set(['/api/v1/health', '/api/v1/version']);

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The key a WebSocket upgrade carries as a subprotocol, offered beside `burrow.v1` (which the server then selects,
 * see `selectWebSocketProtocol`). A malformed token counts as a wrong key, not as none.
 */
function subprotocolKey(request: FastifyRequest): string | undefined {
  if (header(request, 'upgrade')?.toLowerCase() !== 'websocket') return undefined;
  const offered = (header(request, 'sec-websocket-protocol') ?? '').split(',').map((name) => name.trim());
  const token = offered.find((name) => name.startsWith(WS_KEY_PROTOCOL_PREFIX));
  if (token === undefined || !offered.includes(WS_PROTOCOL)) return undefined;
  const encoded = token.slice(WS_KEY_PROTOCOL_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return token;
  return Buffer.from(encoded, 'base64url').toString('utf8');
}

/** The key a request presents, if any. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const apiKey = header(request, 'x-api-key')?.trim();
  if (apiKey !== undefined && apiKey !== '') return apiKey;
  const match = /^Bearer\s+(\S.*)$/i.exec(header(request, 'authorization')?.trim() ?? '');
  return match?.[1]?.trim() ?? subprotocolKey(request);
}

/** The subprotocol a WebSocket upgrade gets: only ever `burrow.v1`, so a key offered beside it is never echoed. */
export function selectWebSocketProtocol(offered: Set<string>): string | false {
  return offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false;
}

export class ApiKeyAuth {
  private readonly enabled: boolean;
  private readonly keys: KeyResolver;

  constructor(options: AuthOptions) {
    this.enabled = options.enabled;
    this.keys = options.keys ?? new ConfigKeys(options.apiKeys);
    if (this.enabled && !this.keys.hasKeys())
      throw new Error(
        'auth is enabled but there is no API key: configure one or create one (burrow keys create)',
      );
  }

  /** The caller a key stands for, or undefined when it is no valid key. */
  resolve(key: string): Caller | undefined {
    return this.keys.resolve(key);
  }

  check(request: FastifyRequest): AuthResult {
    if (!this.enabled) return { kind: 'off' };
    const key = presentedKey(request);
    if (key === undefined) return { kind: 'missing' };
    const caller = this.keys.resolve(key);
    if (caller === undefined) return { kind: 'invalid' };
    return { kind: 'valid', caller };
  }

  /** Throws 401 when the route needs a key and the request has no valid one. */
  enforce(request: FastifyRequest, result: AuthResult): void {
    if (result.kind === 'off' || result.kind === 'valid' || !requiresAuth(request)) return;
    if (result.kind === 'missing') throw new BurrowError('UNAUTHORIZED', 'missing API key');
    throw new BurrowError('UNAUTHORIZED', 'invalid API key');
  }
}

/**
 * Whether a request needs a key. Decided by the matched route's pattern, never by the raw URL text, so no
 * spelling of a path (percent-encoding, case) reaches a protected handler unauthenticated. Unknown paths under
 * /api/ answer 401 before 404, as Den does.
 */
export function requiresAuth(request: FastifyRequest): boolean {
  const config = request.routeOptions.config as { auth?: 'open' | 'required' } | undefined;
  if (config?.auth === 'open') return false;
  if (config?.auth === 'required') return true;
  const pattern = request.is404 ? undefined : request.routeOptions.url;
  const path = pattern ?? (request.raw.url ?? '/').split('?')[0] ?? '/';
  return path.startsWith('/api/') && !OPEN_API_ROUTES.has(path);
}
