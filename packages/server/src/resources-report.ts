/**
 * `GET /api/v1/resources`: Den's keys with the monitor's real values (zeros and `normal` before its first
 * sample, as in Den), plus Burrow's additions: why the level is what it is, the stalls, the throttle, the
 * biggest sandboxes, what the monitor did, the warm pool, and use against quotas per tenant. It runs inside the
 * request: a tenant key sees its own sandboxes' counts, ids and use, an admin key everything.
 */
import type { Resources } from '@burrow/protocol';
import { rfc3339 } from './api/wire.js';
import type { Engine } from './engine/engine.js';
import type { PressureMonitor } from './engine/pressure/monitor.js';
import type { WarmPool } from './engine/warm-pool.js';

export function resourcesReport(
  engine: Engine,
  monitor: PressureMonitor,
  warmPool: WarmPool | undefined,
  cpuCores: number,
  /** Tenants known besides those with sandboxes or snapshots (of keys, say). */
  knownTenants: string[] = [],
): Resources {
  const state = monitor.state();
  // The monitor watches every sandbox; a tenant sees ids of its own only.
  const visible = engine.tenancy.caller().admin
    ? undefined
    : new Set(engine.list().map((record) => record.id));
  const shown = (id: string) => visible === undefined || visible.has(id);
  const { total, available, stall } = state.sample;
  const used = Math.max(0, total - available);
  const stats = engine.systemStats();
  const report: Resources = {
    host: {
      cpu_cores: cpuCores,
      memory_free: Math.max(0, total - used),
      memory_total: total,
      memory_used: used,
    },
    pressure: {
      can_create: state.canCreate,
      level: state.level,
      next_threshold: state.nextThreshold,
      score: state.score,
      reason: state.reason,
      soft_limit: state.softLimit,
      throttled: state.throttled,
      top: state.top
        .filter((entry) => shown(entry.id))
        .map((entry) => ({
          id: entry.id,
          memory_usage: entry.usage,
          soft_limit: entry.softLimit,
          ...(entry.stallPercent === undefined ? {} : { stall_percent: entry.stallPercent }),
          ...(entry.majorFaults === undefined ? {} : { major_faults: entry.majorFaults }),
        })),
      actions: state.actions.map((action) => ({
        at: rfc3339(action.at),
        action: action.action,
        sandboxes: action.sandboxes.filter(shown),
        reason: action.reason,
      })),
    },
    sandboxes: { active: stats.running, total: stats.total, paused: stats.paused },
  };
  if (stall !== undefined)
    report.pressure.stall = { some_avg10: stall.someAvg10, full_avg10: stall.fullAvg10 };
  if (warmPool !== undefined) {
    const pool = warmPool.stats();
    report.warm_pool = {
      target: pool.target,
      ready: pool.ready,
      creating: pool.creating,
      memory_short: pool.memoryShort,
      pools: pool.pools,
    };
  }
  const tenants = engine.tenantUsage(knownTenants).map(({ tenant, use, quota }) => ({
    tenant,
    sandboxes: use.sandboxes,
    memory: use.memoryBytes,
    cpu: use.cpu,
    snapshots: use.snapshots,
    quota: {
      sandboxes: quota.sandboxes,
      memory: quota.memoryBytes,
      cpu: quota.cpu,
      snapshots: quota.snapshots,
    },
  }));
  if (tenants.length > 0) report.tenants = tenants;
  return report;
}
