import { z } from 'zod';
import { int } from './sandbox.js';

export const SandboxStats = z.object({
  cpu_percent: z.number(),
  memory_usage: int,
  memory_limit: int,
  memory_percent: z.number(),
  network_rx: int,
  network_tx: int,
  disk_read: int,
  disk_write: int,
  pid_count: int,
  timestamp: z.string(),
});
export type SandboxStats = z.infer<typeof SandboxStats>;

export const SystemStats = z.object({
  running_sandboxes: int,
  stopped_sandboxes: int,
  total_sandboxes: int,
});

export const PressureLevel = z.enum(['normal', 'warning', 'high', 'critical', 'emergency']);

export const Resources = z.object({
  host: z.object({ cpu_cores: int, memory_free: int, memory_total: int, memory_used: int }),
  pressure: z.object({
    can_create: z.boolean(),
    level: PressureLevel,
    next_threshold: z.number(),
    score: z.number(),
  }),
  sandboxes: z.object({ active: int, total: int }),
  /** Burrow's warm pool (sandbox.warm_pool_size / warm_pools): members ready to serve a matching create. */
  warm_pool: z
    .object({
      target: int,
      ready: int,
      creating: int,
      /** Host memory is short: idle members were released and refills wait. */
      memory_short: z.boolean(),
      pools: z.array(z.object({ image: z.string(), size: int, ready: int, creating: int })),
    })
    .optional(),
});
export type Resources = z.infer<typeof Resources>;
