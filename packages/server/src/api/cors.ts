/**
 * CORS as Den configures go-chi/cors, and the WebSocket origin check of Den §5.1. Allowed: the configured
 * origins (Den's two localhost defaults when none are configured) plus the server's own origin, i.e. the origin a
 * page served by this server has (`http(s)://<Host header>`), so the dashboard works on any address it is opened at.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export const DEFAULT_ALLOWED_ORIGINS = ['http://localhost:8080', 'http://127.0.0.1:8080'];
const ALLOWED_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'];
const ALLOWED_HEADERS = ['accept', 'authorization', 'content-type', 'x-api-key', 'origin'];
const EXPOSED_HEADERS = 'Link, Retry-After, Content-Disposition, Content-Length, Burrow-Truncated';
const MAX_AGE_SECONDS = '300';

function ownOrigins(request: FastifyRequest): string[] {
  const host = request.headers.host;
  return host === undefined || host === '' ? [] : [`http://${host}`, `https://${host}`];
}

export class Origins {
  private readonly configured: string[];
  private readonly lowerCase: Set<string>;
  private readonly any: boolean;

  constructor(allowedOrigins: readonly string[]) {
    this.configured = allowedOrigins.length > 0 ? [...allowedOrigins] : [...DEFAULT_ALLOWED_ORIGINS];
    this.lowerCase = new Set(this.configured.map((origin) => origin.toLowerCase()));
    this.any = this.configured.includes('*');
  }

  /** CORS matching: case-insensitive, `*` allowed (go-chi/cors). */
  allowsCors(origin: string, request: FastifyRequest): boolean {
    const lower = origin.toLowerCase();
    return (
      this.any || this.lowerCase.has(lower) || ownOrigins(request).some((own) => own.toLowerCase() === lower)
    );
  }

  /** WebSocket matching: exact and case-sensitive, as Den's upgrader checks it. */
  allowsWebSocket(origin: string, request: FastifyRequest): boolean {
    return this.any || this.configured.includes(origin) || ownOrigins(request).includes(origin);
  }
}

export function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

/**
 * Sets the CORS headers of a request (actual or preflight). Returns true for a preflight, which the caller
 * answers at once with 204, before authentication.
 */
export function applyCors(request: FastifyRequest, reply: FastifyReply, origins: Origins): boolean {
  const origin = headerText(request.headers.origin);
  const preflight = isPreflight(request);
  if (!preflight) {
    reply.header('vary', 'Origin');
    if (origin !== '' && origins.allowsCors(origin, request)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    }
    return false;
  }
  reply.header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
  const method = headerText(request.headers['access-control-request-method']).trim().toUpperCase();
  const requested = headerText(request.headers['access-control-request-headers'])
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  const allowed =
    origin !== '' &&
    origins.allowsCors(origin, request) &&
    ALLOWED_METHODS.includes(method) &&
    requested.every((name) => ALLOWED_HEADERS.includes(name));
  if (allowed) {
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-methods', method);
    if (requested.length > 0) reply.header('access-control-allow-headers', requested.join(', '));
    reply.header('access-control-max-age', MAX_AGE_SECONDS);
  }
  return true;
}
