/** A sandbox's networking: preview URLs of its ports, published ports, and its egress policy. */
import type {
  EgressState as WireEgressState,
  PortMapping as WirePortMapping,
  PreviewUrl,
} from '@burrow/protocol';
import { portFromWire } from './convert.js';
import type { HttpClient } from './http.js';
import type { EgressPolicy, EgressState, PortMapping, PreviewInfo } from './types.js';

export interface PreviewOptions {
  /** Lifetime of the token in seconds (the server's default, an hour unless configured, when absent). */
  expiresInSeconds?: number;
}

function previewFromWire(wire: PreviewUrl): PreviewInfo {
  const info: PreviewInfo = {
    port: wire.port,
    url: wire.url,
    pathUrl: wire.path_url,
    host: wire.host,
    public: wire.public,
  };
  if (wire.token !== undefined) info.token = wire.token;
  if (wire.expires_at !== undefined) info.expiresAt = new Date(wire.expires_at);
  return info;
}

/** A URL with the preview token as `burrow_token` (the proxy turns it into a cookie on the first visit). */
export function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('burrow_token', token);
  return parsed.toString();
}

export class SandboxNetwork {
  readonly #http: HttpClient;
  readonly #path: string;

  /** @internal */
  constructor(http: HttpClient, id: string) {
    this.#http = http;
    this.#path = `/api/v1/sandboxes/${encodeURIComponent(id)}`;
  }

  /**
   * Both preview URLs of a port, and a token when the server needs one.
   *
   * @example
   * const { url, pathUrl, token } = await sandbox.network.preview(3000);
   */
  async preview(port: number, options: PreviewOptions = {}): Promise<PreviewInfo> {
    const query =
      options.expiresInSeconds === undefined ? '' : `?expires_in=${Math.ceil(options.expiresInSeconds)}`;
    return previewFromWire(await this.#http.json<PreviewUrl>('GET', `${this.#path}/preview/${port}${query}`));
  }

  /**
   * Opens a port's preview to anyone who can reach the server (`true`), or requires a token again (`false`).
   *
   * @example
   * await sandbox.network.setPublic(3000, true);
   */
  async setPublic(port: number, open: boolean): Promise<PreviewInfo> {
    return previewFromWire(
      await this.#http.json<PreviewUrl>('PUT', `${this.#path}/preview/${port}`, { json: { public: open } }),
    );
  }

  /**
   * Revokes every preview token (and cookie) issued for this sandbox so far.
   *
   * @example
   * await sandbox.network.rotatePreviewTokens();
   */
  async rotatePreviewTokens(): Promise<void> {
    await this.#http.send('POST', `${this.#path}/preview/rotate`);
  }

  /**
   * Publishes a sandbox port on a port of the server host's 127.0.0.1.
   *
   * @example
   * await sandbox.network.publish(8000, 18000); // http://127.0.0.1:18000 reaches port 8000 inside
   */
  async publish(sandboxPort: number, hostPort: number): Promise<PortMapping> {
    const wire = await this.#http.json<WirePortMapping>('POST', `${this.#path}/ports`, {
      json: { sandbox_port: sandboxPort, host_port: hostPort },
    });
    return portFromWire(wire);
  }

  /**
   * Removes the mapping on this host port (or every mapping of this sandbox port).
   *
   * @example
   * await sandbox.network.unpublish(18000);
   */
  async unpublish(port: number): Promise<void> {
    await this.#http.send('DELETE', `${this.#path}/ports/${port}`);
  }

  /** The sandbox's published ports. */
  async ports(): Promise<PortMapping[]> {
    return (await this.#http.json<WirePortMapping[]>('GET', `${this.#path}/ports`)).map(portFromWire);
  }

  /**
   * The egress policy, where secrets apply (never their values) and how many connections were refused.
   *
   * @example
   * const { policy, refused } = await sandbox.network.egress();
   */
  async egress(): Promise<EgressState> {
    return await this.#http.json<WireEgressState>('GET', `${this.#path}/egress`);
  }

  /**
   * Replaces the egress policy of a sandbox created with one; its new connections follow it at once.
   *
   * @example
   * await sandbox.network.setEgress({ allow: ['pypi.org', '*.pythonhosted.org'] });
   */
  async setEgress(policy: EgressPolicy): Promise<EgressState> {
    return await this.#http.json<WireEgressState>('PUT', `${this.#path}/egress`, {
      json: { allow: policy.allow, deny: policy.deny ?? [] },
    });
  }
}
