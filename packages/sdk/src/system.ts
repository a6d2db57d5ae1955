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

/** Host memory, the pressure level, sandbox counts and the warm pools. */
export interface Resources {
  host: { cpuCores: number; memoryFree: number; memoryTotal: number; memoryUsed: number };
  pressure: { canCreate: boolean; level: PressureLevel; nextThreshold: number; score: number };
  sandboxes: { active: number; total: number };
  warmPool?: { target: number; ready: number; creating: number; memoryShort: boolean; pools: WarmPoolInfo[] };
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
  return result;
}
