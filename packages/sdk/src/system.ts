/** The server-wide figures: sandbox counts (`GET /api/v1/stats`) and host resources (`GET /api/v1/resources`). */
import type { Resources as WireResources } from '@burrow/protocol';
import type { HttpClient } from './http.js';

/** Sandboxes the server tracks, by status. */
export interface SystemStats {
  running: number;
  stopped: number;
  total: number;
}

/** Memory-pressure level of the host, least to most severe. */
export type PressureLevel = 'normal' | 'warning' | 'high' | 'critical' | 'emergency';

/** A warm pool: members kept ready for creates of one image. */
export interface WarmPoolInfo {
  image: string;
  size: number;
  ready: number;
  creating: number;
}

/** Limits or use of a tenant: sandboxes at once, bytes of memory and nano-CPUs of its active sandboxes, snapshots. */
export interface TenantFigures {
  sandboxes: number;
  memoryBytes: number;
  cpu: number;
  snapshots: number;
}

/** A tenant's use against its quota (0 in `quota` = no limit). */
export interface TenantUsage extends TenantFigures {
  tenant: string;
  quota: TenantFigures;
}

/** Host memory, the pressure level, sandbox counts, the warm pools, and use per tenant. */
export interface Resources {
  host: { cpuCores: number; memoryFree: number; memoryTotal: number; memoryUsed: number };
  pressure: { canCreate: boolean; level: PressureLevel; nextThreshold: number; score: number };
  /** The sandboxes the key sees. */
  sandboxes: { active: number; total: number };
  warmPool?: { target: number; ready: number; creating: number; memoryShort: boolean; pools: WarmPoolInfo[] };
  /** Every tenant for an admin key, its own for a tenant key; absent on a server without tenants. */
  tenants?: TenantUsage[];
}

export async function systemStats(http: HttpClient): Promise<SystemStats> {
  const wire = await http.json<{
    running_sandboxes: number;
    stopped_sandboxes: number;
    total_sandboxes: number;
  }>('GET', '/api/v1/stats');
  return { running: wire.running_sandboxes, stopped: wire.stopped_sandboxes, total: wire.total_sandboxes };
}

export async function resources(http: HttpClient): Promise<Resources> {
  const wire = await http.json<WireResources>('GET', '/api/v1/resources');
  const result: Resources = {
    host: {
      cpuCores: wire.host.cpu_cores,
      memoryFree: wire.host.memory_free,
      memoryTotal: wire.host.memory_total,
      memoryUsed: wire.host.memory_used,
    },
    pressure: {
      canCreate: wire.pressure.can_create,
      level: wire.pressure.level,
      nextThreshold: wire.pressure.next_threshold,
      score: wire.pressure.score,
    },
    sandboxes: { active: wire.sandboxes.active, total: wire.sandboxes.total },
  };
  const pool = wire.warm_pool;
  if (pool !== undefined)
    result.warmPool = {
      target: pool.target,
      ready: pool.ready,
      creating: pool.creating,
      memoryShort: pool.memory_short,
      pools: pool.pools.map((item) => ({ ...item })),
    };
  if (wire.tenants !== undefined)
    result.tenants = wire.tenants.map((entry) => ({
      tenant: entry.tenant,
      sandboxes: entry.sandboxes,
      memoryBytes: entry.memory,
      cpu: entry.cpu,
      snapshots: entry.snapshots,
      quota: {
        sandboxes: entry.quota.sandboxes,
        memoryBytes: entry.quota.memory,
        cpu: entry.quota.cpu,
        snapshots: entry.quota.snapshots,
      },
    }));
  return result;
}
