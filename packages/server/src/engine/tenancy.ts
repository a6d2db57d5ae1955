/**
 * The engine's side of several users on one server: who is calling (and what they may see), who owns what is
 * created, quota checks with the reservations that make them hold under concurrency, and the audit log. The engine
 * consults it in its one sandbox lookup, its listings and its use cases; the checks that must not race run under
 * the engine's admission lock.
 */
import type { SandboxConfig } from '../runtime/runtime.js';
import { VOLUME_PREFIX } from '../storage/volumes.js';
import type { SandboxOwner, SandboxRecord, SandboxStore } from '../store/store.js';
import type { Auditor, AuditEvent } from './audit.js';
import { canSee, CallerContext, type Caller } from './caller.js';
import { Quotas, tenantOf, type TenantQuota, type TenantUse } from './quotas.js';

export interface TenancyOptions {
  store: SandboxStore;
  callers?: CallerContext | undefined;
  quotas?: Quotas | undefined;
  auditor?: Auditor | undefined;
  /** What a sandbox without a CPU limit counts as when no quotas are given. */
  unlimitedCpu: number;
}

export interface TenantUsage {
  tenant: string;
  use: TenantUse;
  quota: TenantQuota;
}

export class Tenancy {
  readonly callers: CallerContext;
  private readonly store: SandboxStore;
  private readonly quotas: Quotas;
  private readonly auditor: Auditor | undefined;
  /** Sandboxes being started: they count against their tenant's quota before their record says running. */
  private readonly starting = new Map<string, SandboxRecord>();
  /** Snapshots being taken, per tenant: they count against its quota before they are recorded. */
  private readonly snapshotting = new Map<string, number>();

  constructor(options: TenancyOptions) {
    this.store = options.store;
    this.callers = options.callers ?? new CallerContext();
    this.quotas = options.quotas ?? new Quotas({ unlimitedCpu: options.unlimitedCpu });
    this.auditor = options.auditor;
  }

  caller(): Caller {
    return this.callers.current();
  }

  /** Whether the caller may see what belongs to `tenant`. */
  sees(tenant: string | undefined): boolean {
    return canSee(this.caller(), tenant);
  }

  /** The owner of a sandbox created now: the caller's tenant and key. */
  newOwner(): SandboxOwner {
    const caller = this.caller();
    return { tenant: caller.tenant, keyId: caller.keyId, keyName: caller.keyName };
  }

  /**
   * A tenant's named volumes are its own: `burrow-<tenant>.<name>`. Tenant names have no `.`, so two tenants never
   * share a name; and names starting with `burrow-` are refused to every caller, so no admin name (nor one made
   * before tenancy) is a tenant's either.
   */
  ownVolumes(config: SandboxConfig, tenant: string): SandboxConfig {
    const volumes = config.storage?.volumes;
    if (tenant === '' || volumes === undefined || volumes.length === 0) return config;
    return {
      ...config,
      storage: {
        ...config.storage,
        volumes: volumes.map((volume) => ({ ...volume, name: `${VOLUME_PREFIX}${tenant}.${volume.name}` })),
      },
    };
  }

  /** Runs `work` and records it in the audit log with its outcome. */
  audited<T>(event: AuditEvent, work: () => Promise<T>): Promise<T> {
    return this.auditor === undefined ? work() : this.auditor.around(event, work);
  }

  audit(event: AuditEvent): void {
    this.auditor?.record(event, 'ok');
  }

  /** Throws QUOTA_EXCEEDED when one more active sandbox like `record` does not fit (under the admission lock). */
  checkSandbox(record: SandboxRecord, sandboxes: SandboxRecord[]): void {
    if (tenantOf(record) === '') return;
    const use = this.quotas.useOf(tenantOf(record), sandboxes, [], [...this.starting.values()]);
    this.quotas.checkSandbox(record, use);
  }

  /**
   * Checks that a stopped sandbox may start again and counts it until the returned release is called (under the
   * admission lock); undefined when a start of it is already counted.
   */
  beginStart(record: SandboxRecord): (() => void) | undefined {
    if (this.starting.has(record.id)) return undefined;
    this.checkSandbox(record, this.store.listSandboxes());
    this.starting.set(record.id, { ...record, status: 'creating' });
    return () => this.starting.delete(record.id);
  }

  /** Checks that `tenant` may store one more snapshot and counts it until released (under the admission lock). */
  beginSnapshot(tenant: string): () => void {
    if (tenant === '') return () => undefined;
    const use = this.quotas.useOf(tenant, [], this.store.listSnapshots());
    use.snapshots += this.snapshotting.get(tenant) ?? 0;
    this.quotas.checkSnapshot(tenant, use);
    this.snapshotting.set(tenant, (this.snapshotting.get(tenant) ?? 0) + 1);
    return () => {
      const left = (this.snapshotting.get(tenant) ?? 1) - 1;
      if (left <= 0) this.snapshotting.delete(tenant);
      else this.snapshotting.set(tenant, left);
    };
  }

  /**
   * Each tenant's use against its quota: every tenant an admin can name (from sandboxes, snapshots, the quota
   * settings and `known`, e.g. the tenants of keys), only its own for a tenant key.
   */
  usage(known: string[] = []): TenantUsage[] {
    const caller = this.caller();
    const sandboxes = this.store.listSandboxes();
    const snapshots = this.store.listSnapshots();
    const tenants = caller.admin
      ? new Set([
          ...sandboxes.map(tenantOf),
          ...snapshots.map((snapshot) => snapshot.tenant ?? ''),
          ...this.quotas.configuredTenants(),
          ...known,
        ])
      : new Set([caller.tenant]);
    tenants.delete('');
    return [...tenants].sort().map((tenant) => ({
      tenant,
      use: this.quotas.useOf(tenant, sandboxes, snapshots),
      quota: this.quotas.quotaOf(tenant),
    }));
  }
}
