/**
 * A sandbox's networking over its lifetime, and what the API asks of it: published ports (bound at create, kept
 * across stops and server restarts, released at destroy), preview URLs and their tokens, the egress policy and
 * secrets the egress proxy reads for each new connection, and the per-sandbox CA that secrets at egress need. Runs as
 * one of the engine's lifetime hooks; depends only on the store and runtime interfaces.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { BurrowError } from '@burrow/protocol';
import type { Logger } from '../logger.js';
import type { EgressPolicy, EgressSecret, PortMapping, Runtime, SandboxConfig } from '../runtime/runtime.js';
import type { SandboxRecord, SandboxStore } from '../store/store.js';
import { CA_ENV, installCaBundle } from './ca-bundle.js';
import { checkSecrets } from './egress-admission.js';
import type { CertificateFactory } from './egress-ca.js';
import { checkPolicy, withServerDeny } from './egress-policy.js';
import type { SandboxEgress } from './egress-proxy.js';
import type { PortPublisher } from './port-publisher.js';
import { newTokenKey, signToken } from './preview-tokens.js';
import type { PreviewLinks, PreviewRoutes } from './preview-target.js';

const TOKEN_KEY = 'preview-token-key';
const CA_KEY = 'egress-ca-key';
const CA_CERT = 'egress-ca-cert';
/** Longest preview-token lifetime (30 days). */
export const MAX_TOKEN_TTL_MS = 30 * 24 * 3600 * 1000;
/** Host certificates kept ready for intercepted connections, over all sandboxes. */
const MAX_CONTEXTS = 512;
/** A host certificate is used this long, then re-issued (it is valid for a week). */
const CONTEXT_REUSE_MS = 24 * 3600 * 1000;

export interface SandboxNetworkOptions {
  store: SandboxStore;
  runtime: Pick<Runtime, 'readFile' | 'writeFile'>;
  publisher: PortPublisher;
  certificates: CertificateFactory;
  routes: PreviewRoutes;
  /** The operator's deny list (`network.egress_deny`), joined to every sandbox's policy. */
  serverDeny: readonly string[];
  authEnabled: boolean;
  /** Lifetime of a preview token when the caller names none. */
  defaultTokenTtlMs: number;
  /** Refusals the egress proxy counted (egress-proxy.ts). */
  refusals: { refused(sandboxId: string): number; forget(sandboxId: string): void };
  logger: Logger;
  now?: () => Date;
  /**
   * Whether the caller of the work in progress may see a sandbox (tenancy: another tenant's is not found, exactly
   * as one that does not exist). Default: every sandbox.
   */
  visible?: (record: SandboxRecord) => boolean;
}

export interface PreviewGrant extends PreviewLinks {
  port: number;
  token?: string;
  expiresAt?: Date;
  public: boolean;
}

export interface EgressView {
  policy: EgressPolicy | undefined;
  secrets: { host: string; header: string }[];
  refused: number;
}

export class SandboxNetwork {
  private readonly contexts = new Map<string, { made: Promise<SecureContext>; at: number }>();
  private readonly now: () => Date;

  constructor(private readonly options: SandboxNetworkOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** The one lookup of a sandbox for the API's calls: another tenant's is not found. */
  private record(id: string): SandboxRecord {
    const record = this.options.store.getSandbox(id);
    if (record === undefined || this.options.visible?.(record) === false)
      throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
    return record;
  }

  private update(id: string, change: (config: SandboxConfig) => SandboxConfig): SandboxRecord {
    const record = this.record(id);
    record.config = change(record.config);
    this.options.store.updateSandbox(record);
    return record;
  }

  // ---------------------------------------------------------------- lifetime hooks

  /** Binds the create's ports (a taken host port fails the create with 409) and makes the CA secrets need. */
  async beforeCreate(id: string, config: SandboxConfig): Promise<SandboxConfig> {
    await this.options.publisher.bindAll(id, config.ports ?? []);
    if ((config.secrets ?? []).length === 0) return config;
    const ca = await this.options.certificates.createCa(id, this.now());
    this.options.store.setSandboxSecret(id, CA_KEY, ca.keyPem);
    this.options.store.setSandboxSecret(id, CA_CERT, ca.certPem);
    const env = { ...config.env };
    for (const [name, value] of Object.entries(CA_ENV)) env[name] ??= value;
    return { ...config, env };
  }

  /** Puts the CA into the sandbox's trust store (a tmpfs file; the root filesystem is read-only). */
  async afterStart(record: SandboxRecord): Promise<void> {
    const certPem = this.options.store.getSandboxSecret(record.id, CA_CERT);
    if (certPem === undefined || (record.config.secrets ?? []).length === 0) return;
    await installCaBundle(this.options.runtime, record.id, certPem);
  }

  async afterRemove(record: SandboxRecord): Promise<void> {
    await this.options.publisher.unbindSandbox(record.id);
    this.options.refusals.forget(record.id);
    for (const key of this.contexts.keys()) if (key.startsWith(`${record.id} `)) this.contexts.delete(key);
  }

  /** At boot: binds the published ports of every recorded sandbox again (a taken port is logged and skipped). */
  async restore(records: readonly SandboxRecord[]): Promise<void> {
    for (const record of records) {
      for (const mapping of record.config.ports ?? []) {
        await this.options.publisher
          .bind(record.id, mapping)
          .catch((error: unknown) =>
            this.options.logger.error(
              { err: error, sandbox: record.id, hostPort: mapping.hostPort },
              'could not publish a port again after the restart',
            ),
          );
      }
    }
  }

  // ---------------------------------------------------------------- published ports

  listPorts(id: string): PortMapping[] {
    return this.record(id).config.ports ?? [];
  }

  async publish(id: string, mapping: PortMapping): Promise<PortMapping> {
    const record = this.record(id);
    if (record.status === 'creating') {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        'the sandbox is still being created: publish once it runs',
      );
    }
    const existing = (record.config.ports ?? []).find((port) => port.hostPort === mapping.hostPort);
    if (existing?.sandboxPort === mapping.sandboxPort) return existing;
    await this.options.publisher.bind(id, mapping);
    try {
      this.update(id, (config) => ({ ...config, ports: [...(config.ports ?? []), mapping] }));
    } catch (error) {
      await this.options.publisher.unbind(id, mapping.hostPort);
      throw error;
    }
    return mapping;
  }

  /** Removes the mapping on host port `port`, or else every mapping of sandbox port `port`. */
  async unpublish(id: string, port: number): Promise<PortMapping[]> {
    const ports = this.record(id).config.ports ?? [];
    let removed = ports.filter((mapping) => mapping.hostPort === port);
    if (removed.length === 0) removed = ports.filter((mapping) => mapping.sandboxPort === port);
    if (removed.length === 0) {
      throw new BurrowError('PORT_NOT_PUBLISHED', `port ${port} is not published for this sandbox`, { port });
    }
    this.update(id, (config) => ({
      ...config,
      ports: (config.ports ?? []).filter(
        (mapping) =>
          !removed.some(
            (gone) => gone.hostPort === mapping.hostPort && gone.sandboxPort === mapping.sandboxPort,
          ),
      ),
    }));
    for (const mapping of removed) await this.options.publisher.unbind(id, mapping.hostPort);
    return removed;
  }

  // ---------------------------------------------------------------- previews

  isPublic(id: string, port: number): boolean {
    return this.options.store.getSandbox(id)?.config.publicPorts?.includes(port) === true;
  }

  tokenKey(id: string): string | undefined {
    return this.options.store.getSandboxSecret(id, TOKEN_KEY);
  }

  /** The preview URLs of a port, with a token when one is needed (auth on, port not public). */
  preview(id: string, port: number, server: { url: string; port: number }, ttlMs?: number): PreviewGrant {
    this.record(id);
    const links = this.options.routes.links(id, port, server.url, server.port);
    const open = this.isPublic(id, port);
    if (!this.options.authEnabled || open) return { ...links, port, public: open };
    const lifetime = ttlMs ?? this.options.defaultTokenTtlMs;
    if (!Number.isFinite(lifetime) || lifetime < 1000 || lifetime > MAX_TOKEN_TTL_MS) {
      throw new BurrowError('VALIDATION_FAILED', `expires_in: give 1 to ${MAX_TOKEN_TTL_MS / 1000} seconds`, {
        field: 'expires_in',
      });
    }
    let key = this.tokenKey(id);
    if (key === undefined) {
      key = newTokenKey();
      this.options.store.setSandboxSecret(id, TOKEN_KEY, key);
    }
    const expiresAt = new Date(this.now().getTime() + lifetime);
    return { ...links, port, public: false, token: signToken(key, id, port, expiresAt), expiresAt };
  }

  setPublic(id: string, port: number, open: boolean): void {
    this.update(id, (config) => {
      const ports = new Set(config.publicPorts ?? []);
      if (open) ports.add(port);
      else ports.delete(port);
      return { ...config, publicPorts: [...ports] };
    });
  }

  /** A new token key: every preview token and cookie issued for this sandbox stops working. */
  rotateTokens(id: string): void {
    this.record(id);
    this.options.store.setSandboxSecret(id, TOKEN_KEY, newTokenKey());
  }

  // ---------------------------------------------------------------- egress

  /** What the egress proxy enforces for a sandbox's new connection (undefined: refuse everything). */
  egressOf(id: string): SandboxEgress | undefined {
    const config = this.options.store.getSandbox(id)?.config;
    if (config?.egress === undefined) return undefined;
    return { policy: withServerDeny(config.egress, this.options.serverDeny), secrets: config.secrets ?? [] };
  }

  egressView(id: string): EgressView {
    const config = this.record(id).config;
    return {
      policy: config.egress,
      secrets: (config.secrets ?? []).map((secret: EgressSecret) => ({
        host: secret.host,
        header: secret.header,
      })),
      refused: this.options.refusals.refused(id),
    };
  }

  /** Replaces a running sandbox's policy; new connections follow it at once. */
  setEgress(id: string, input: { allow?: string[]; deny?: string[] }): EgressView {
    const record = this.record(id);
    if (record.config.egress === undefined) {
      throw new BurrowError(
        'CONFLICT',
        'this sandbox was created without an egress policy, so its traffic does not pass the egress proxy: create a sandbox with "egress" (network_mode "bridge") to give it one',
      );
    }
    const policy = checkPolicy(input);
    // Secrets must stay reachable under the new policy (checked as at create).
    checkSecrets(record.config.secrets ?? [], policy);
    this.update(id, (config) => ({ ...config, egress: policy }));
    this.options.logger.info(
      { sandbox: id, allow: policy.allow.length, deny: policy.deny.length },
      'egress policy changed',
    );
    return this.egressView(id);
  }

  /** The TLS context the proxy presents for `host` to sandbox `id` (signed by the sandbox's CA). */
  context(id: string, host: string): Promise<SecureContext> {
    const key = `${id} ${host}`;
    const cached = this.contexts.get(key);
    if (cached !== undefined && this.now().getTime() - cached.at < CONTEXT_REUSE_MS) return cached.made;
    this.contexts.delete(key);
    const made = (async () => {
      const keyPem = this.options.store.getSandboxSecret(id, CA_KEY);
      const certPem = this.options.store.getSandboxSecret(id, CA_CERT);
      if (keyPem === undefined || certPem === undefined) {
        throw new BurrowError('INTERNAL', `sandbox ${id} has no egress CA`);
      }
      const leaf = await this.options.certificates.issue({ keyPem, certPem }, host, this.now());
      return createSecureContext({ key: leaf.keyPem, cert: leaf.certPem + certPem });
    })();
    made.catch(() => this.contexts.delete(key));
    if (this.contexts.size >= MAX_CONTEXTS) {
      const oldest = this.contexts.keys().next().value;
      if (oldest !== undefined) this.contexts.delete(oldest);
    }
    this.contexts.set(key, { made, at: this.now().getTime() });
    return made;
  }
}
