/**
 * The two forms of a preview URL, and which sandbox port a request is for:
 * - host-based: `http://<port>-<id>.<preview domain>:<server port>/...` (every port its own origin; `*.localhost`
 *   resolves to loopback in browsers and curl, a real wildcard domain works behind a reverse proxy);
 * - path-based: `<server>/api/v1/sandboxes/<id>/proxy/<port>/...`, for clients that cannot use host names.
 */
import type { IncomingMessage } from 'node:http';
import { TOKEN_QUERY } from './preview-access.js';

export const PROXY_PATH = /^\/api\/v1\/sandboxes\/([A-Za-z0-9_-]{1,64})\/proxy\/(\d{1,5})(\/[^?#]*)?(\?.*)?$/;

export interface PreviewUrlsOptions {
  /** `network.preview_domain`, e.g. `localhost` or `preview.example.com`. */
  domain: string;
  /** `http` or `https` (behind a TLS-terminating reverse proxy). */
  scheme: 'http' | 'https';
  /** Port in host-based URLs; 0 = the server's own. */
  port: number;
  /**
   * With auth off, path-based previews are served only to requests addressed to a loopback name (as the API is, see
   * api/loopback-guard.ts): a page that rebinds its own name to 127.0.0.1 must not read a sandbox's pages. Host-based
   * previews need the preview domain in Host, which such a page cannot send.
   */
  loopbackOnly?: boolean;
}

const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/;

export interface PreviewTarget {
  sandboxId: string;
  port: number;
  form: 'host' | 'path';
  /** The request as the sandbox's server sees it: path and query, Burrow's token parameter removed. */
  path: string;
  /** The request's query, parsed (the path is not: see `path`). */
  url: URL;
  cookiePath: string;
}

export interface PreviewLinks {
  url: string;
  pathUrl: string;
  host: string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Path and query as sent, less Burrow's token parameter (the rest of the query is left byte for byte). */
function withoutToken(path: string, query: string | undefined): string {
  if (query === undefined) return path;
  const kept = query.split('&').filter((part) => part !== TOKEN_QUERY && !part.startsWith(`${TOKEN_QUERY}=`));
  return kept.length === 0 ? path : `${path}?${kept.join('&')}`;
}

function split(raw: string): [string, string | undefined] {
  const at = raw.indexOf('?');
  return at < 0 ? [raw, undefined] : [raw.slice(0, at), raw.slice(at + 1)];
}

function parsedQuery(query: string | undefined): URL {
  return new URL(`http://preview/${query === undefined ? '' : `?${query}`}`);
}

export class PreviewRoutes {
  private readonly hostPattern: RegExp;

  constructor(private readonly options: PreviewUrlsOptions) {
    this.hostPattern = new RegExp(
      `^(\\d{1,5})-([0-9a-v]{20})\\.${escapeRegExp(options.domain.toLowerCase())}(?::\\d{1,5})?$`,
    );
  }

  /** The sandbox port a request is for, or undefined when it is not a preview request. */
  match(request: IncomingMessage): PreviewTarget | undefined {
    const raw = request.url ?? '/';
    const host = String(request.headers.host ?? '').toLowerCase();
    const byHost = this.hostPattern.exec(host);
    if (byHost !== null) {
      const [path, query] = split(raw.startsWith('/') ? raw : `/${raw}`);
      return {
        sandboxId: byHost[2] ?? '',
        port: Number(byHost[1]),
        form: 'host',
        path: withoutToken(path, query),
        url: parsedQuery(query),
        cookiePath: '/',
      };
    }
    const byPath = PROXY_PATH.exec(raw);
    if (byPath === null) return undefined;
    // Not claimed: the API's own guard answers it (403 with what to do).
    if (this.options.loopbackOnly === true && !LOOPBACK_HOST.test(host)) return undefined;
    const sandboxId = byPath[1] ?? '';
    const port = Number(byPath[2]);
    const query = byPath[4]?.slice(1);
    return {
      sandboxId,
      port,
      form: 'path',
      path: withoutToken(byPath[3] ?? '/', query),
      url: parsedQuery(query),
      cookiePath: `/api/v1/sandboxes/${sandboxId}/proxy/${port}/`,
    };
  }

  /** Both URLs of a sandbox port; `serverUrl` is how clients reach this server (scheme, host, port). */
  links(sandboxId: string, port: number, serverUrl: string, serverPort: number): PreviewLinks {
    const { scheme, domain } = this.options;
    const publicPort = this.options.port === 0 ? serverPort : this.options.port;
    const defaultPort = scheme === 'https' ? 443 : 80;
    const host = `${port}-${sandboxId}.${domain}${publicPort === defaultPort ? '' : `:${publicPort}`}`;
    return {
      url: `${scheme}://${host}/`,
      pathUrl: `${serverUrl.replace(/\/+$/, '')}/api/v1/sandboxes/${sandboxId}/proxy/${port}/`,
      host,
    };
  }

  get secure(): boolean {
    return this.options.scheme === 'https';
  }
}

/** The request URL with Burrow's token parameter masked, for logs. */
export function redactedUrl(raw: string): string {
  return raw.replace(new RegExp(`([?&]${TOKEN_QUERY}=)[^&#]*`, 'g'), '$1***');
}
