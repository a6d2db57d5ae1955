/** Keys, access tokens and signed file URLs of the E2B endpoint. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AccessTokens, checkApiKey, e2bFormOf, fileSignature, keyFromE2bForm } from './access.js';

const alice = { keyId: 'key_a', keyName: 'alice', tenant: 'alpha', admin: false };
const keys = { enabled: true, resolve: (key: string) => (key === 'right key' ? alice : undefined) };

describe('E2B access', () => {
  it('takes a Burrow key as it is or as e2b_<hex of its UTF-8>, and anything when auth is off', () => {
    expect(e2bFormOf('right key')).toBe(`e2b_${Buffer.from('right key').toString('hex')}`);
    expect(keyFromE2bForm(e2bFormOf('ключ'))).toBe('ключ');
    expect(keyFromE2bForm('e2b_abc')).toBeUndefined();
    expect(checkApiKey(keys, 'right key')).toEqual({ kind: 'ok', caller: alice });
    expect(checkApiKey(keys, e2bFormOf('right key'))).toEqual({ kind: 'ok', caller: alice });
    expect(checkApiKey(keys, e2bFormOf('wrong key'))).toEqual({ kind: 'invalid' });
    expect(checkApiKey(keys, undefined)).toEqual({ kind: 'missing' });
    expect(checkApiKey({ ...keys, enabled: false }, undefined)).toMatchObject({
      kind: 'ok',
      caller: { admin: true },
    });
  });

  it('derives a different token per sandbox and per secret, and verifies only the right one', () => {
    const tokens = new AccessTokens(Buffer.alloc(32, 1));
    const a = tokens.tokenFor('sandbox-a');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens.tokenFor('sandbox-a')).toBe(a);
    expect(tokens.tokenFor('sandbox-b')).not.toBe(a);
    expect(new AccessTokens(Buffer.alloc(32, 2)).tokenFor('sandbox-a')).not.toBe(a);
    expect(tokens.verify('sandbox-a', a)).toBe(true);
    expect(tokens.verify('sandbox-b', a)).toBe(false);
    expect(tokens.trafficTokenFor('sandbox-a')).not.toBe(a);
    expect(() => new AccessTokens(Buffer.alloc(8))).toThrow(/16 bytes/);
  });

  it("checks signatures as E2B's SDKs make them, with their expiry", () => {
    const tokens = new AccessTokens(Buffer.alloc(32, 3));
    const token = tokens.tokenFor('box');
    // The SDKs' recipe: v1_ + base64(sha256("path:operation:user:token[:expiration]")) without padding.
    const sdk = (raw: string) => `v1_${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
    expect(fileSignature('/a b', 'read', 'user', token)).toBe(sdk(`/a b:read:user:${token}`));
    expect(fileSignature('/x', 'write', '', token, 99)).toBe(sdk(`/x:write::${token}:99`));
    const request = {
      path: '/x',
      operation: 'write' as const,
      user: '',
      signature: sdk(`/x:write::${token}:99`),
      expiration: 99,
    };
    expect(tokens.verifySignature('box', request, 98)).toBe(true);
    expect(tokens.verifySignature('box', request, 100)).toBe(false);
    expect(tokens.verifySignature('box', { ...request, operation: 'read' }, 98)).toBe(false);
    expect(tokens.verifySignature('other', request, 98)).toBe(false);
  });
});
