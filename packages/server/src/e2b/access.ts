/**
 * Who may do what on the E2B endpoint. The control plane takes Burrow's own API keys (`X-API-KEY`), also in the
 * `e2b_<hex>` form some wrappers insist on (`e2b_` and the key's UTF-8 bytes in hex), or stored keys made in E2B's
 * shape (`burrow keys create --e2b`); a key stands for its caller, whose tenant scopes what the control plane sees. Sandbox traffic takes the
 * sandbox's access token (`X-Access-Token`), or a signature made from it (`signature` on /files URLs, as E2B's
 * `uploadUrl`/`downloadUrl` make them). Tokens are derived from the sandbox id with a server secret (HMAC), so
 * nothing is stored and a restart keeps them valid.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ANONYMOUS_CALLER, type Caller } from '../engine/caller.js';

export interface KeyCheck {
  /** Whether the control plane asks for a key at all (Burrow's `auth.enabled`). */
  enabled: boolean;
  /** The caller one of Burrow's API keys stands for (its tenant, admin or not); undefined for any other key. */
  resolve(key: string): Caller | undefined;
}

/** A control-plane request's key: `missing` and `invalid` are 401s; `ok` says as whom the request runs. */
export type KeyVerdict = { kind: 'ok'; caller: Caller } | { kind: 'missing' } | { kind: 'invalid' };

function sameText(a: string, b: string): boolean {
  const left = createHash('sha256').update(a, 'utf8').digest();
  const right = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(left, right);
}

/** The Burrow key an `e2b_<hex>` key stands for, when it is one. */
export function keyFromE2bForm(key: string): string | undefined {
  const match = /^e2b_((?:[0-9a-f]{2})+)$/i.exec(key);
  if (match?.[1] === undefined) return undefined;
  return Buffer.from(match[1], 'hex').toString('utf8');
}

/** The `e2b_<hex>` form of a Burrow key. */
export function e2bFormOf(key: string): string {
  return `e2b_${Buffer.from(key, 'utf8').toString('hex')}`;
}

/** Whether a control-plane request may go on, and as whom (everyone is an admin with auth off). */
export function checkApiKey(check: KeyCheck, presented: string | undefined): KeyVerdict {
  if (!check.enabled) return { kind: 'ok', caller: ANONYMOUS_CALLER };
  if (presented === undefined || presented === '') return { kind: 'missing' };
  const decoded = keyFromE2bForm(presented);
  // Both forms are always tried, so timing does not tell which one matched.
  const plain = check.resolve(presented);
  const e2b = decoded === undefined ? undefined : check.resolve(decoded);
  const caller = plain ?? e2b;
  return caller === undefined ? { kind: 'invalid' } : { kind: 'ok', caller };
}

export type FileOperation = 'read' | 'write';

/** E2B's file URL signature: `v1_` + base64 SHA-256 of `path:operation:user:token[:expiration]`, unpadded. */
export function fileSignature(
  path: string,
  operation: FileOperation,
  user: string,
  token: string,
  expiration?: number,
): string {
  const raw = [path, operation, user, token, ...(expiration === undefined ? [] : [String(expiration)])].join(
    ':',
  );
  return `v1_${createHash('sha256').update(raw, 'utf8').digest('base64').replace(/=+$/, '')}`;
}

export class AccessTokens {
  private readonly secret: Buffer;

  constructor(secret: Buffer) {
    if (secret.length < 16) throw new Error('the E2B token secret must have at least 16 bytes');
    this.secret = secret;
  }

  /** The access token of a sandbox. */
  tokenFor(sandboxId: string): string {
    return createHmac('sha256', this.secret).update(`envd:${sandboxId}`, 'utf8').digest('hex');
  }

  /** The traffic token of a sandbox (for its other ports when public traffic is off). */
  trafficTokenFor(sandboxId: string): string {
    return createHmac('sha256', this.secret).update(`traffic:${sandboxId}`, 'utf8').digest('hex');
  }

  verify(sandboxId: string, presented: string): boolean {
    return sameText(this.tokenFor(sandboxId), presented);
  }

  verifyTraffic(sandboxId: string, presented: string): boolean {
    return sameText(this.trafficTokenFor(sandboxId), presented);
  }

  /**
   * Whether a /files request's signature was made with this sandbox's token for this path, operation and user,
   * and has not expired (`nowSeconds`).
   */
  verifySignature(
    sandboxId: string,
    request: { path: string; operation: FileOperation; user: string; signature: string; expiration?: number },
    nowSeconds: number,
  ): boolean {
    if (request.expiration !== undefined && request.expiration < nowSeconds) return false;
    const expected = fileSignature(
      request.path,
      request.operation,
      request.user,
      this.tokenFor(sandboxId),
      request.expiration,
    );
    return sameText(expected, request.signature);
  }
}
