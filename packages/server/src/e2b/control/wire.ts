/**
 * E2B's control-plane shapes, made from Burrow's sandbox records. What E2B keeps per sandbox (its template and
 * metadata, whether public traffic is allowed) is kept in the sandbox's labels under `e2b.`, so a restart, the
 * Burrow API and `burrow ls` see it too.
 */
import { availableParallelism, totalmem } from 'node:os';
import type { SandboxView } from '../../engine/engine.js';
import type { SandboxStats } from '../../runtime/runtime.js';
import type { AccessTokens } from '../access.js';

/** The envd version Burrow's endpoint behaves as: what the SDKs may use (see docs/e2b.md). */
export const ENVD_VERSION = '0.5.7';
export const CLIENT_ID = 'burrow';

export const LABEL_TEMPLATE = 'e2b.template';
export const LABEL_METADATA_PREFIX = 'e2b.metadata.';
export const LABEL_PUBLIC_TRAFFIC = 'e2b.public_traffic';

const MiB = 1024 * 1024;

export function metadataOf(view: SandboxView): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(view.config.labels ?? {})) {
    if (key.startsWith(LABEL_METADATA_PREFIX)) metadata[key.slice(LABEL_METADATA_PREFIX.length)] = value;
  }
  return metadata;
}

export function metadataLabels(metadata: Record<string, string> | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) labels[`${LABEL_METADATA_PREFIX}${key}`] = value;
  return labels;
}

/** The template a sandbox was created from (its image when the E2B endpoint did not create it). */
export function templateOf(view: SandboxView): string {
  return view.config.labels?.[LABEL_TEMPLATE] ?? view.image;
}

/**
 * Whether a sandbox's ports (all but envd's) take requests without a token. Never on a server with auth on: there
 * every sandbox gets a traffic token, which E2B's SDKs then send (`E2B-Traffic-Access-Token`).
 */
export function publicTraffic(view: SandboxView, authEnabled: boolean): boolean {
  return !authEnabled && view.config.labels?.[LABEL_PUBLIC_TRAFFIC] !== 'false';
}

/** E2B's states are `running` and `paused`; Burrow's other states are reported as they are. */
export function stateOf(view: SandboxView): string {
  return view.status;
}

export function cpuCountOf(view: SandboxView): number {
  const cpu = view.config.cpu ?? 0;
  return cpu > 0 ? Math.max(1, Math.ceil(cpu / 1e9)) : availableParallelism();
}

export function memoryMbOf(view: SandboxView): number {
  const memory = view.config.memory ?? 0;
  return Math.round((memory > 0 ? memory : totalmem()) / MiB);
}

export interface WireContext {
  tokens: AccessTokens;
  /** The server asks for API keys (then sandbox ports need a token too). */
  authEnabled: boolean;
  /** The `<domain>` of `<port>-<id>.<domain>` hosts. */
  domain: string;
}

/** The answer to create and connect (E2B's `Sandbox`). */
export function sandboxToWire(view: SandboxView, context: WireContext) {
  const template = templateOf(view);
  return {
    templateID: template,
    sandboxID: view.id,
    alias: template,
    clientID: CLIENT_ID,
    envdVersion: ENVD_VERSION,
    envdAccessToken: context.tokens.tokenFor(view.id),
    trafficAccessToken: publicTraffic(view, context.authEnabled)
      ? null
      : context.tokens.trafficTokenFor(view.id),
    domain: context.domain,
  };
}

function endAt(view: SandboxView): string {
  // No expiry: the far end of the date range, so clients that compute "time left" get a large number.
  return (view.expiresAt ?? new Date(8.64e15)).toISOString();
}

/** One entry of a listing (E2B's `ListedSandbox`). */
export function listedToWire(view: SandboxView) {
  const template = templateOf(view);
  return {
    templateID: template,
    alias: template,
    sandboxID: view.id,
    clientID: CLIENT_ID,
    startedAt: view.createdAt.toISOString(),
    endAt: endAt(view),
    cpuCount: cpuCountOf(view),
    memoryMB: memoryMbOf(view),
    diskSizeMB: Math.round((view.config.diskLimit ?? 0) / MiB),
    metadata: metadataOf(view),
    state: stateOf(view),
    envdVersion: ENVD_VERSION,
    volumeMounts: (view.config.storage?.volumes ?? []).map((volume) => ({
      name: volume.name,
      path: volume.mountPath,
    })),
  };
}

/** One sandbox in detail (E2B's `SandboxDetail`). */
export function detailToWire(view: SandboxView, context: WireContext) {
  return {
    ...listedToWire(view),
    envdAccessToken: context.tokens.tokenFor(view.id),
    domain: context.domain,
    allowInternetAccess: view.config.networkMode === 'bridge',
    network: { allowPublicTraffic: publicTraffic(view, context.authEnabled) },
  };
}

/** A metrics sample (E2B's `SandboxMetric`). */
export function metricToWire(view: SandboxView, stats: SandboxStats) {
  const cpuCount = cpuCountOf(view);
  return {
    timestamp: stats.timestamp.toISOString(),
    timestampUnix: Math.floor(stats.timestamp.getTime() / 1000),
    cpuCount,
    cpuUsedPct: Math.round((stats.cpuPercent / cpuCount) * 100) / 100,
    memUsed: stats.memoryUsage,
    memTotal: stats.memoryLimit > 0 ? stats.memoryLimit : totalmem(),
    memCache: 0,
    diskUsed: 0,
    diskTotal: view.config.diskLimit ?? 0,
  };
}
