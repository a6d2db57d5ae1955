/**
 * Dial-time SSRF protection: HTTP(S) agents whose connections can only reach addresses the SSRF guard allowed.
 *
 * `createPinnedAgents` (custom endpoints): the endpoint is resolved ONCE when the agents are built; the whole answer
 * set is checked (any never-exemptable address is an error at construction) and the first permitted address is
 * pinned. Every connection then goes to that address, whatever DNS says later (no re-resolution, so no rebinding),
 * while the TLS server name and certificate check still use the endpoint's host name (only `lookup` is replaced).
 *
 * `createGuardedAgents` (AWS, no custom endpoint): virtual-hosted buckets mean many host names, so each connection
 * resolves its host, requires every answer to be permitted, and connects to the first.
 *
 * Redirects: the AWS SDK's Node handler never follows HTTP redirects (a 3xx is returned to the SDK, which turns it
 * into an error) and the S3 client is built with `followRegionRedirects: false`. Independently of that, these agents
 * refuse, in `createConnection`, any connection to a host other than the pinned endpoint (pinned agents) or to a
 * refused address (guarded agents), so any code path that did follow a redirect through them would be re-validated
 * hop by hop and could never reach another address.
 */
import http from 'node:http';
import https from 'node:https';
import { Socket } from 'node:net';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { Duplex } from 'node:stream';
import { BurrowError } from '@burrow/protocol';
import { canonicalHost } from './endpoint.js';
import { canonicalIp, classifyIp } from './ip.js';
import type { PinnedEndpoint, SsrfPolicy } from './ssrf.js';

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;
type Lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/** Decides, synchronously, whether a connection to a host may start; returns the refusal or undefined. */
type HostCheck = (host: string) => BurrowError | undefined;

export interface PinnedAgentOptions {
  /** Extra CA certificates (PEM) for endpoints with a private CA. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Sockets per agent; default 50. */
  maxSockets?: number;
}

export interface S3Agents {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  destroy(): void;
}

export interface PinnedAgents extends S3Agents {
  endpoint: PinnedEndpoint;
}

function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function answer(address: string, options: LookupOptions, callback: LookupCallback): void {
  const family = familyOf(address);
  if (options.all === true) callback(null, [{ address, family }]);
  else callback(null, address, family);
}

/** A socket that fails at once with `error`: how an agent refuses a connection without throwing into http. */
function refusedSocket(error: Error): Socket {
  const socket = new Socket();
  process.nextTick(() => socket.destroy(error));
  return socket;
}

function hostOf(options: { host?: string | null | undefined; hostname?: string | null | undefined }): string {
  return options.host ?? options.hostname ?? 'localhost';
}

function agentsWith(check: HostCheck, lookup: Lookup, options: PinnedAgentOptions): S3Agents {
  const base = { keepAlive: true, maxSockets: options.maxSockets ?? 50 };
  class GuardedHttpAgent extends http.Agent {
    override createConnection(
      connect: http.ClientRequestArgs,
      callback?: (error: Error | null, stream: Duplex) => void,
    ) {
      const refusal = check(hostOf(connect));
      if (refusal !== undefined) return refusedSocket(refusal);
      return super.createConnection({ ...connect, lookup }, callback);
    }
  }
  class GuardedHttpsAgent extends https.Agent {
    override createConnection(
      connect: https.RequestOptions,
      callback?: (error: Error | null, stream: Duplex) => void,
    ) {
      const refusal = check(hostOf(connect));
      if (refusal !== undefined) return refusedSocket(refusal);
      return super.createConnection({ ...connect, lookup }, callback);
    }
  }
  const httpAgent = new GuardedHttpAgent(base);
  const httpsAgent = new GuardedHttpsAgent({
    ...base,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
  });
  return {
    httpAgent,
    httpsAgent,
    destroy: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function canonicalOrUndefined(host: string): string | undefined {
  try {
    return canonicalHost(host);
  } catch {
    return undefined;
  }
}

/**
 * Agents pinned to one endpoint. Resolves the endpoint now (through the policy) and refuses construction when any
 * answer is never-exemptable or none is permitted.
 */
export async function createPinnedAgents(
  policy: SsrfPolicy,
  endpoint: string,
  options: PinnedAgentOptions = {},
): Promise<PinnedAgents> {
  const pinned = await policy.pin(endpoint);
  const check: HostCheck = (host) => {
    if (canonicalOrUndefined(host) === pinned.host) return undefined;
    return new BurrowError(
      'SSRF_BLOCKED',
      `connection to ${host} refused: this S3 client only talks to ${pinned.authority} (redirects to other hosts are not followed)`,
    );
  };
  const lookup: Lookup = (_hostname, lookupOptions, callback) =>
    answer(pinned.pinned, lookupOptions, callback);
  return { ...agentsWith(check, lookup, options), endpoint: pinned };
}

/** Agents for endpoints chosen by the SDK (AWS): every connection resolves and checks its host, then connects to a permitted answer. */
export function createGuardedAgents(policy: SsrfPolicy, options: PinnedAgentOptions = {}): S3Agents {
  const check: HostCheck = (host) => {
    const canonical = canonicalOrUndefined(host);
    if (canonical === undefined)
      return new BurrowError('SSRF_BLOCKED', `connection to ${host} refused: not a valid host`);
    const literal = canonicalIp(canonical);
    if (literal === undefined) return undefined; // a name: checked by `lookup` when it resolves
    const ipClass = classifyIp(literal);
    return ipClass.blocked
      ? new BurrowError(
          'SSRF_BLOCKED',
          `connection to ${host} refused: ${ipClass.description} is not a public address`,
        )
      : undefined;
  };
  const lookup: Lookup = (hostname, lookupOptions, callback) => {
    policy.pin(hostname, { strict: true }).then(
      (pinned) => answer(pinned.pinned, lookupOptions, callback),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), ''),
    );
  };
  return agentsWith(check, lookup, options);
}
