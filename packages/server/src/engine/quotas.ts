/**
 * Per-tenant quotas: sandboxes at once, memory and CPU of its active sandboxes together, snapshots stored. A
 * request that would go past one is refused with 429 QUOTA_EXCEEDED naming the quota, its limit and the use; the
 * tenant can go on once its use drops. Sandboxes with no tenant (made by admin keys without one, or before tenancy)
 * count against no quota.
 */
import { BurrowError } from '@burrow/protocol';
import type { SandboxRecord, SnapshotRecord } from '../store/store.js';

/** A tenant's limits; 0 = none. */
export interface TenantQuota {
  sandboxes: number;
  memoryBytes: number;
  /** Nano-CPUs. */
  cpu: number;
  snapshots: number;
}

export const NO_QUOTA: TenantQuota = Object.freeze({ sandboxes: 0, memoryBytes: 0, cpu: 0, snapshots: 0 });

export interface TenantUse {
  sandboxes: number;
  memoryBytes: number;
  cpu: number;
  snapshots: number;
}

export interface QuotaOptions {
  /** Applies to every tenant without its own entry. */
  defaultQuota?: Partial<TenantQuota>;
  perTenant?: Record<string, Partial<TenantQuota>>;
  /** What a sandbox without a CPU limit counts as (it may use this much): the server's `sandbox.max_cpu`. */
  unlimitedCpu: number;
}

/** Statuses that hold a slot: what a create or start adds to. */
const ACTIVE = new Set<string>(['creating', 'running', 'paused']);

export function isActive(record: SandboxRecord): boolean {
  return ACTIVE.has(record.status);
}

export function tenantOf(record: { owner?: { tenant: string } }): string {
  return record.owner?.tenant ?? '';
}

export class Quotas {
  private readonly defaultQuota: TenantQuota;
  private readonly perTenant: Map<string, TenantQuota>;
  private readonly unlimitedCpu: number;

  constructor(options: QuotaOptions) {
    this.defaultQuota = { ...NO_QUOTA, ...options.defaultQuota };
    this.perTenant = new Map(
      Object.entries(options.perTenant ?? {}).map(([tenant, quota]) => [
        tenant,
        { ...this.defaultQuota, ...quota },
      ]),
    );
    this.unlimitedCpu = options.unlimitedCpu;
  }

  quotaOf(tenant: string): TenantQuota {
    if (tenant === '') return NO_QUOTA;
    return this.perTenant.get(tenant) ?? this.defaultQuota;
  }

  /** Tenants named in the configuration. */
  configuredTenants(): string[] {
    return [...this.perTenant.keys()];
  }

  /** The CPU a sandbox counts for. */
  cpuOf(record: Pick<SandboxRecord, 'config'>): number {
    const cpu = record.config.cpu ?? 0;
    return cpu > 0 ? cpu : this.unlimitedCpu;
  }

  /** A tenant's use, from its sandboxes (and those being started, not yet recorded as running) and snapshots. */
  useOf(
    tenant: string,
    sandboxes: SandboxRecord[],
    snapshots: SnapshotRecord[],
    extra: SandboxRecord[] = [],
  ): TenantUse {
    const active = [...sandboxes.filter(isActive), ...extra].filter((record) => tenantOf(record) === tenant);
    return {
      sandboxes: active.length,
      memoryBytes: active.reduce((sum, record) => sum + (record.config.memory ?? 0), 0),
      cpu: active.reduce((sum, record) => sum + this.cpuOf(record), 0),
      snapshots: snapshots.filter((snapshot) => (snapshot.tenant ?? '') === tenant).length,
    };
  }

  /** Throws QUOTA_EXCEEDED when one more active sandbox like `record` would not fit its tenant's quota. */
  checkSandbox(record: SandboxRecord, use: TenantUse): void {
    const tenant = tenantOf(record);
    const quota = this.quotaOf(tenant);
    if (quota.sandboxes > 0 && use.sandboxes + 1 > quota.sandboxes) {
      throw exceeded(tenant, 'sandboxes', quota.sandboxes, use.sandboxes, 1, 'sandboxes at once');
    }
    const memory = record.config.memory ?? 0;
    if (quota.memoryBytes > 0 && use.memoryBytes + memory > quota.memoryBytes) {
      throw exceeded(tenant, 'memory', quota.memoryBytes, use.memoryBytes, memory, 'bytes of memory');
    }
    const cpu = this.cpuOf(record);
    if (quota.cpu > 0 && use.cpu + cpu > quota.cpu) {
      throw exceeded(tenant, 'cpu', quota.cpu, use.cpu, cpu, 'nano-CPUs');
    }
  }

  checkSnapshot(tenant: string, use: TenantUse): void {
    const quota = this.quotaOf(tenant);
    if (quota.snapshots > 0 && use.snapshots + 1 > quota.snapshots) {
      throw exceeded(tenant, 'snapshots', quota.snapshots, use.snapshots, 1, 'snapshots stored');
    }
  }
}

function exceeded(
  tenant: string,
  quota: string,
  limit: number,
  used: number,
  requested: number,
  unit: string,
): BurrowError {
  const advice =
    quota === 'snapshots'
      ? 'delete a snapshot first'
      : 'stop or destroy one of its sandboxes first (or ask for less)';
  return new BurrowError(
    'QUOTA_EXCEEDED',
    `tenant "${tenant}" would exceed its quota of ${limit} ${unit} (${used} in use, ${requested} more asked): ${advice}`,
    { quota, tenant, limit, used, requested },
  );
}
