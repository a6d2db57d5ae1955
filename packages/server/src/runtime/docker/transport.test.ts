import { describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import { chooseTransport } from './transport.js';

describe('chooseTransport', () => {
  it('takes the agent socket when the binary is there and the engine is local', () => {
    expect(chooseTransport(undefined, '/bin/agent', undefined).transport).toBe('socket');
    expect(chooseTransport(undefined, '/bin/agent', '').transport).toBe('socket');
    expect(chooseTransport(undefined, '/bin/agent', 'unix:///var/run/docker.sock').transport).toBe('socket');
  });

  it('falls back to the Engine API path without the binary, and says why', () => {
    const choice = chooseTransport(undefined, undefined, undefined);
    expect(choice.transport).toBe('engine');
    expect(choice.reason).toMatch(/binary is missing/);
  });

  it('uses the Engine API path for a remote engine, even with the binary', () => {
    for (const host of ['tcp://10.0.0.2:2376', 'ssh://user@box']) {
      const choice = chooseTransport(undefined, '/bin/agent', host);
      expect(choice.transport).toBe('engine');
      expect(choice.reason).toContain(host.split('://')[0]);
    }
  });

  it('honours an explicit transport, refusing an agent transport without the binary', () => {
    expect(chooseTransport('exec', '/bin/agent', 'tcp://x:1').transport).toBe('exec');
    expect(chooseTransport('engine', '/bin/agent', undefined).transport).toBe('engine');
    try {
      chooseTransport('socket', undefined, undefined);
      expect.unreachable();
    } catch (error) {
      expect(isBurrowError(error) && error.code).toBe('RUNTIME_UNAVAILABLE');
      expect(String(error)).toMatch(/"auto" or "engine"/);
    }
  });
});
