/** Checks of a port and an address inside a sandbox, for connections into it. */
import { isIP } from 'node:net';
import { BurrowError } from '@burrow/protocol';

export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new BurrowError('VALIDATION_FAILED', `port ${String(port)} is not a TCP port: use 1-65535`);
  }
  return port;
}

/** An address literal inside the sandbox (names are not resolved there); default its own loopback. */
export function checkConnectHost(host: string | undefined): string {
  if (host === undefined || host === '' || host === 'localhost') return '127.0.0.1';
  if (isIP(host) === 0) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `host "${host.slice(0, 64)}" is not an IP address: give an address such as 127.0.0.1`,
    );
  }
  return host;
}
