import type { SandboxStats } from '../runtime.js';

/** The subset of Docker's stats document that Burrow reads (cgroup v1 and v2 shapes). */
export interface DockerStats {
  cpu_stats?: {
    cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op?: string; value?: number }[] | null };
  pids_stats?: { current?: number };
}

/**
 * CPU percent over the interval between Docker's two samples (not the lifetime average); memory without the
 * reclaimable page cache, as `docker stats` shows it.
 */
export function statsFromDocker(raw: DockerStats, now: Date = new Date()): SandboxStats {
  const cpuDelta =
    (raw.cpu_stats?.cpu_usage?.total_usage ?? 0) - (raw.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (raw.cpu_stats?.system_cpu_usage ?? 0) - (raw.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = raw.cpu_stats?.online_cpus ?? raw.cpu_stats?.cpu_usage?.percpu_usage?.length ?? 1;
  const cpuPercent = cpuDelta > 0 && systemDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;

  const memory = raw.memory_stats ?? {};
  const cache = memory.stats?.total_inactive_file ?? memory.stats?.inactive_file ?? 0;
  const memoryUsage = Math.max(0, (memory.usage ?? 0) - cache);
  // runsc (gVisor) reports no top-level limit; its cgroup's hierarchical limit is the same number. A value near
  // 2^63 is cgroup v1's "no limit".
  const hierarchical = memory.stats?.hierarchical_memory_limit;
  const memoryLimit =
    memory.limit ?? (hierarchical !== undefined && hierarchical < 2 ** 62 ? hierarchical : 0);

  let networkRx = 0;
  let networkTx = 0;
  for (const network of Object.values(raw.networks ?? {})) {
    networkRx += network.rx_bytes ?? 0;
    networkTx += network.tx_bytes ?? 0;
  }
  let diskRead = 0;
  let diskWrite = 0;
  for (const entry of raw.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op?.toLowerCase();
    if (op === 'read') diskRead += entry.value ?? 0;
    else if (op === 'write') diskWrite += entry.value ?? 0;
  }
  return {
    cpuPercent: Math.round(cpuPercent * 100) / 100,
    memoryUsage,
    memoryLimit,
    memoryPercent: memoryLimit > 0 ? Math.round((memoryUsage / memoryLimit) * 10000) / 100 : 0,
    networkRx,
    networkTx,
    diskRead,
    diskWrite,
    pidCount: raw.pids_stats?.current ?? 0,
    timestamp: now,
  };
}
