/** Request headers as a proxy forwards them: hop-by-hop headers dropped, secrets added for their host only. */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { EgressSecret } from '../runtime/runtime.js';

/** Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), plus the proxy's own. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

export interface ForwardOptions {
  /** Keep `connection: upgrade` and `upgrade` (a WebSocket or other upgrade request). */
  upgrade?: boolean;
  /** Further headers to drop (lower case). */
  drop?: ReadonlySet<string>;
}

export function forwardHeaders(
  headers: IncomingHttpHeaders,
  host: string,
  options: ForwardOptions = {},
): OutgoingHttpHeaders {
  const listed = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => name !== '' && name !== 'upgrade'),
  );
  const out: OutgoingHttpHeaders = { host };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || options.drop?.has(name)) continue;
    out[name] = value;
  }
  if (options.upgrade === true && headers.upgrade !== undefined) {
    out.connection = 'upgrade';
    out.upgrade = headers.upgrade;
  }
  return out;
}

/** `headers` with each secret's header set (replacing whatever the sandbox sent under that name). */
export function withSecrets(
  headers: OutgoingHttpHeaders,
  secrets: readonly EgressSecret[],
): OutgoingHttpHeaders {
  if (secrets.length === 0) return headers;
  const out = { ...headers };
  for (const secret of secrets) {
    const name = secret.header.toLowerCase();
    for (const key of Object.keys(out)) if (key.toLowerCase() === name) delete out[key];
    out[name] = secret.value;
  }
  return out;
}
