import { describe, expect, it } from 'vitest';
import { newTokenKey, signToken, verifyToken } from './preview-tokens.js';

describe('preview tokens', () => {
  const key = newTokenKey();
  const now = new Date('2026-05-01T10:00:00Z');
  const later = new Date(now.getTime() + 60_000);

  it('are valid for their sandbox and port until they expire', () => {
    const token = signToken(key, 'sbx1', 3000, later);
    expect(verifyToken(key, token, 'sbx1', 3000, now)).toEqual({ valid: true, expiresAt: later });
    expect(verifyToken(key, token, 'sbx2', 3000, now)).toMatchObject({ valid: false });
    expect(verifyToken(key, token, 'sbx1', 3001, now)).toEqual({
      valid: false,
      reason: 'the preview token is for port 3000, not 3001',
    });
    expect(verifyToken(key, token, 'sbx1', 3000, later)).toEqual({
      valid: false,
      reason: 'the preview token has expired',
    });
  });

  it('stop working when the key is rotated, and refuse tampering and garbage', () => {
    const token = signToken(key, 'sbx1', 3000, later);
    expect(verifyToken(newTokenKey(), token, 'sbx1', 3000, now)).toMatchObject({ valid: false });
    expect(verifyToken(undefined, token, 'sbx1', 3000, now)).toMatchObject({ valid: false });
    const extended = token.replace(/\.(\d+)\./, (_m, expiry: string) => `.${Number(expiry) + 1000}.`);
    expect(verifyToken(key, extended, 'sbx1', 3000, now)).toMatchObject({ valid: false });
    for (const junk of ['', 'bp1', 'x'.repeat(500), `${token}x`]) {
      expect(verifyToken(key, junk, 'sbx1', 3000, now)).toMatchObject({ valid: false });
    }
  });
});
