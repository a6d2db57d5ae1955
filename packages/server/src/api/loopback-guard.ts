/**
 * With authentication off, the API is open to anything that can reach it, including web pages in the browser of the
 * person running it: a page may POST a "simple" cross-site request (no preflight) that creates a sandbox with its
 * own image and command, and DNS rebinding (a name that resolves to 127.0.0.1 after the page loaded) lets it read the
 * answers too. So with auth off:
 *
 * - only requests addressed to this machine are served: the Host is `localhost`, a 127.x.x.x address or `[::1]`
 *   (any port), or the host of an origin in `server.allowed_origins`; anything else is 403 (a rebound name never
 *   matches);
 * - a request that changes something (any method but GET, HEAD, OPTIONS) is refused with 403 when it carries a
 *   foreign `Origin` or `Sec-Fetch-Site: cross-site`, unless the origin is allowed (configured, or this server's
 *   own).
 *
 * curl, the SDKs and Den's clients send neither header (and a loopback Host), so they are not affected. With auth on,
 * a browser cannot attach the key to a cross-site request without a preflight, so none of this applies.
 */
import { BurrowError } from '@burrow/protocol';
import type { FastifyRequest } from 'fastify';
import type { Origins } from './cors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const IPV4_LOOPBACK = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The host part of a Host header, lower-case, without the port (`[::1]:8080` → `[::1]`). */
export function hostOf(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    return end === -1 ? value : value.slice(0, end + 1);
  }
  const colon = value.lastIndexOf(':');
  return colon !== -1 && /^\d*$/.test(value.slice(colon + 1)) ? value.slice(0, colon) : value;
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '[::1]') return true;
  const octets = IPV4_LOOPBACK.exec(host);
  return octets !== null && octets.slice(1).every((octet) => Number(octet) <= 255);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export interface LoopbackGuardOptions {
  /** Authentication is on: the guard does nothing. */
  authEnabled: boolean;
  origins: Origins;
  /** `server.allowed_origins` as configured (their hosts are served too). */
  allowedOrigins: readonly string[];
}

export class LoopbackGuard {
  private readonly active: boolean;
  private readonly origins: Origins;
  private readonly extraHosts: Set<string>;

  constructor(options: LoopbackGuardOptions) {
    this.active = !options.authEnabled;
    this.origins = options.origins;
    this.extraHosts = new Set(
      options.allowedOrigins.flatMap((origin) => {
        try {
          return [new URL(origin).host, new URL(origin).hostname].map((host) => host.toLowerCase());
        } catch {
          return []; // '*' and other non-URLs name no host
        }
      }),
    );
  }

  /** Why this request is refused, or undefined when it may go on. */
  check(request: FastifyRequest): BurrowError | undefined {
    if (!this.active) return undefined;
    const hostHeader = single(request.headers.host);
    if (hostHeader !== undefined && hostHeader !== '') {
      const host = hostOf(hostHeader);
      if (
        !isLoopbackHost(host) &&
        !this.extraHosts.has(host) &&
        !this.extraHosts.has(hostHeader.toLowerCase())
      ) {
        return new BurrowError(
          'FORBIDDEN',
          `Host "${hostHeader}" is not this server: with authentication off, Burrow answers only requests addressed ` +
            'to localhost, 127.0.0.1 or [::1] (a web page could otherwise reach it by DNS rebinding). Address it as ' +
            'one of those, add the origin to server.allowed_origins, or turn authentication on',
        );
      }
    }
    if (SAFE_METHODS.has(request.method)) return undefined;
    const origin = single(request.headers.origin);
    if (origin !== undefined && origin !== '') {
      if (this.origins.allowsCors(origin, request)) return undefined;
      return new BurrowError(
        'FORBIDDEN',
        `cross-site request refused: a page at ${origin} may not change anything on this server while ` +
          'authentication is off: add the origin to server.allowed_origins, or turn authentication on',
      );
    }
    if (single(request.headers['sec-fetch-site'])?.toLowerCase() === 'cross-site') {
      return new BurrowError(
        'FORBIDDEN',
        'cross-site request refused: a web page may not change anything on this server while authentication is ' +
          'off: add its origin to server.allowed_origins, or turn authentication on',
      );
    }
    return undefined;
  }
}
