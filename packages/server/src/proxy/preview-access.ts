/**
 * Who may use a preview URL: the one place where access to a sandbox's port through the preview proxy is decided.
 * With auth on, a request needs one of: the port marked public, an API key that may reach the sandbox (an admin key,
 * or a key of the sandbox's tenant; `X-API-Key` or `Authorization: Bearer`), a preview token for this sandbox and port (`?burrow_token=`
 * or `X-Burrow-Preview-Token`), or the cookie a token turned into on an earlier visit. Whatever carried the
 * credential is removed before the request goes on into the sandbox, so no key or token reaches code inside.
 */
import type { IncomingMessage } from 'node:http';
import { MAX_TOKEN_LENGTH, verifyToken } from './preview-tokens.js';

export const TOKEN_QUERY = 'burrow_token';
export const TOKEN_HEADER = 'x-burrow-preview-token';
export const COOKIE_NAME = 'burrow_preview';

export interface PreviewAccessOptions {
  authEnabled: boolean;
  /**
   * What an API key may do with a sandbox: reach it (`allowed`: an admin key, or a key of its tenant), or not even
   * find it (`not-found`: a key of another tenant, answered exactly as a sandbox that does not exist), or nothing
   * (`invalid`: no valid key).
   */
  checkApiKey(key: string, sandboxId: string): 'allowed' | 'not-found' | 'invalid';
  /** The sandbox's token key, undefined when it has none yet. */
  tokenKey(sandboxId: string): string | undefined;
  isPublic(sandboxId: string, port: number): boolean;
  now?: () => Date;
}

export interface AccessTarget {
  sandboxId: string;
  port: number;
  /** Path the cookie is scoped to (`/` for host-based URLs, the proxy prefix for path-based ones). */
  cookiePath: string;
  secure: boolean;
}

export type AccessDecision =
  | {
      allowed: true;
      /** A cookie to set on the response (the first visit with a token in the URL). */
      setCookie?: string;
      /** Request headers to drop before forwarding (the credential's carriers). */
      drop: Set<string>;
    }
  | {
      allowed: false;
      reason: string;
      /** The key was valid but of another tenant: answer as for a sandbox that does not exist. */
      notFound?: true;
    };

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Every value of cookie `name` in a Cookie header (several paths may each have set one). */
export function cookieValues(cookieHeader: string | undefined, name: string): string[] {
  if (cookieHeader === undefined) return [];
  return cookieHeader
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part.startsWith(`${name}=`))
    .map((part) => part.slice(name.length + 1));
}

/** The Cookie header without Burrow's own cookie (undefined when nothing else is left). */
export function cookiesWithout(cookieHeader: string | undefined, name: string): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const rest = cookieHeader
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && !part.startsWith(`${name}=`));
  return rest.length === 0 ? undefined : rest.join('; ');
}

export class PreviewAccess {
  private readonly now: () => Date;

  constructor(private readonly options: PreviewAccessOptions) {
    this.now = options.now ?? (() => new Date());
  }

  get authEnabled(): boolean {
    return this.options.authEnabled;
  }

  check(request: IncomingMessage, url: URL, target: AccessTarget): AccessDecision {
    const drop = new Set<string>([TOKEN_HEADER]);
    if (!this.options.authEnabled || this.options.isPublic(target.sandboxId, target.port)) {
      return { allowed: true, drop };
    }
    let foreign = false;
    const apiKey = header(request, 'x-api-key')?.trim();
    if (apiKey !== undefined && apiKey !== '') {
      const verdict = this.options.checkApiKey(apiKey, target.sandboxId);
      if (verdict === 'allowed') {
        drop.add('x-api-key');
        return { allowed: true, drop };
      }
      foreign ||= verdict === 'not-found';
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(header(request, 'authorization')?.trim() ?? '')?.[1];
    if (bearer !== undefined) {
      const verdict = this.options.checkApiKey(bearer, target.sandboxId);
      if (verdict === 'allowed') {
        drop.add('authorization');
        return { allowed: true, drop };
      }
      foreign ||= verdict === 'not-found';
    }
    const key = this.options.tokenKey(target.sandboxId);
    const now = this.now();
    let reason =
      'this preview needs a token (?burrow_token=...) or an API key: ask GET /api/v1/sandboxes/{id}/preview/{port} for one';
    const offered = url.searchParams.get(TOKEN_QUERY) ?? header(request, TOKEN_HEADER);
    if (offered !== undefined && offered !== null && offered !== '') {
      const checked = verifyToken(
        key,
        offered.slice(0, MAX_TOKEN_LENGTH + 1),
        target.sandboxId,
        target.port,
        now,
      );
      if (checked.valid) {
        const maxAge = Math.max(0, Math.floor((checked.expiresAt.getTime() - now.getTime()) / 1000));
        const cookie =
          `${COOKIE_NAME}=${offered}; Max-Age=${maxAge}; Path=${target.cookiePath}; HttpOnly; SameSite=Lax` +
          (target.secure ? '; Secure' : '');
        return { allowed: true, setCookie: cookie, drop };
      }
      reason = checked.reason;
    }
    for (const value of cookieValues(header(request, 'cookie'), COOKIE_NAME)) {
      const checked = verifyToken(key, value, target.sandboxId, target.port, now);
      if (checked.valid) return { allowed: true, drop };
      if (offered === undefined || offered === null)
        reason = `the preview cookie is no longer valid (${checked.reason.replace(/^the preview token /, '')}): ask for a new token`;
    }
    return foreign ? { allowed: false, reason, notFound: true } : { allowed: false, reason };
  }
}
