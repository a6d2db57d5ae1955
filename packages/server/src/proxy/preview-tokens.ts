/**
 * Preview tokens: access to one port of one sandbox until an expiry, signed with HMAC-SHA256 under that sandbox's own
 * key (kept in the store). Stateless to check; rotating the sandbox's key revokes every token (and every cookie made
 * from one) at once. Form: `bp1.<port>.<expiry, seconds since the epoch>.<signature, base64url>`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 'bp1';
const TOKEN = /^bp1\.(\d{1,5})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;
/** Longest token accepted from a request (anything longer is not one). */
export const MAX_TOKEN_LENGTH = 128;

export function newTokenKey(): string {
  return randomBytes(32).toString('base64url');
}

function signature(key: string, sandboxId: string, port: number, expires: number): Buffer {
  return createHmac('sha256', Buffer.from(key, 'base64url'))
    .update(`preview\n${sandboxId}\n${port}\n${expires}`)
    .digest();
}

export function signToken(key: string, sandboxId: string, port: number, expiresAt: Date): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  return `${VERSION}.${port}.${expires}.${signature(key, sandboxId, port, expires).toString('base64url')}`;
}

export type TokenCheck = { valid: true; expiresAt: Date } | { valid: false; reason: string };

export function verifyToken(
  key: string | undefined,
  token: string,
  sandboxId: string,
  port: number,
  now: Date,
): TokenCheck {
  const match = token.length <= MAX_TOKEN_LENGTH ? TOKEN.exec(token) : null;
  if (match === null) return { valid: false, reason: 'the preview token is malformed' };
  if (key === undefined) return { valid: false, reason: 'the preview token is not valid for this sandbox' };
  const tokenPort = Number(match[1]);
  const expires = Number(match[2]);
  const given = Buffer.from(match[3] ?? '', 'base64url');
  const expected = signature(key, sandboxId, tokenPort, expires);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { valid: false, reason: 'the preview token is not valid for this sandbox (or was revoked)' };
  }
  if (tokenPort !== port)
    return { valid: false, reason: `the preview token is for port ${tokenPort}, not ${port}` };
  if (expires * 1000 <= now.getTime()) return { valid: false, reason: 'the preview token has expired' };
  return { valid: true, expiresAt: new Date(expires * 1000) };
}
