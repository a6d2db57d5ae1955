/**
 * Admission of a create request's networking fields: its egress policy (or the server's default), the secrets bound
 * to hosts, and the ports whose previews are public. Everything refused is a 400 that says what to change.
 */
import { BurrowError } from '@burrow/protocol';
import type { EgressPolicy, EgressSecret, NetworkMode } from '../runtime/runtime.js';
import { checkDestination, checkPolicy, compilePolicy, isHostName, normaliseHost } from './egress-policy.js';

export const MAX_SECRETS = 32;
const MAX_SECRET_VALUE_BYTES = 8192;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
/** Headers a secret may not set: they frame the request rather than carry data. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
]);

export interface EgressInput {
  egress?: { allow?: string[]; deny?: string[] };
  secrets?: EgressSecret[];
}

/** The policy and secrets a sandbox gets. */
export function checkEgress(
  input: EgressInput,
  mode: NetworkMode,
  serverDefault: EgressPolicy | undefined,
): { policy?: EgressPolicy; secrets: EgressSecret[] } {
  let policy: EgressPolicy | undefined;
  if (input.egress !== undefined) {
    if (mode !== 'bridge') {
      throw new BurrowError(
        'POLICY_VIOLATION',
        `egress: a policy narrows network_mode "bridge"; this sandbox's mode is "${mode}", which has no egress to allow (ask for network_mode "bridge" where the server allows it)`,
        { field: 'egress' },
      );
    }
    policy = checkPolicy(input.egress);
  } else if (mode === 'bridge' && serverDefault !== undefined) {
    policy = serverDefault;
  }
  const secrets = checkSecrets(input.secrets ?? [], policy);
  return { ...(policy === undefined ? {} : { policy }), secrets };
}

export function checkSecrets(secrets: EgressSecret[], policy: EgressPolicy | undefined): EgressSecret[] {
  if (secrets.length === 0) return [];
  if (policy === undefined) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      'secrets: secrets are added by the egress proxy, so they need an egress policy: give egress.allow with the secrets\' hosts (network_mode "bridge")',
      { field: 'secrets' },
    );
  }
  if (secrets.length > MAX_SECRETS) {
    throw new BurrowError('VALIDATION_FAILED', `secrets: at most ${MAX_SECRETS} (got ${secrets.length})`, {
      field: 'secrets',
    });
  }
  const compiled = compilePolicy(policy);
  return secrets.map((secret, index) => {
    const field = `secrets[${index}]`;
    const host = normaliseHost(secret.host);
    if (!isHostName(host)) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `${field}.host: "${secret.host.slice(0, 100)}" is not a host name: give the exact name, e.g. api.example.com`,
        { field: `${field}.host` },
      );
    }
    if (!HEADER_NAME.test(secret.header) || RESERVED_HEADERS.has(secret.header.toLowerCase())) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `${field}.header: "${secret.header.slice(0, 100)}" cannot be set by a secret: use a header name such as Authorization or X-Api-Key`,
        { field: `${field}.header` },
      );
    }
    // Only the value's length and characters are described: the value itself never goes into a message.
    if (/[\r\n\0]/.test(secret.value) || Buffer.byteLength(secret.value) > MAX_SECRET_VALUE_BYTES) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `${field}.value: a header value of at most ${MAX_SECRET_VALUE_BYTES} bytes without line breaks or NUL`,
        { field: `${field}.value` },
      );
    }
    if (!checkDestination(compiled, host).allowed) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `${field}.host: ${host} is not allowed by the egress policy: add it to egress.allow`,
        { field: `${field}.host` },
      );
    }
    return { host, header: secret.header, value: secret.value };
  });
}

export function checkPublicPorts(ports: number[] | undefined): number[] {
  const out = new Set<number>();
  for (const port of ports ?? []) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new BurrowError('VALIDATION_FAILED', `public_ports: ${port} is not a TCP port: use 1-65535`, {
        field: 'public_ports',
      });
    }
    out.add(port);
  }
  if (out.size > 64) throw new BurrowError('VALIDATION_FAILED', 'public_ports: at most 64 ports');
  return [...out];
}
