import { z } from 'zod';
import { int } from './sandbox.js';
import { TenantUsage } from './tenancy.js';

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
  egress_refused: int
    .optional()
    .describe('Connections its egress policy refused since the server started (Burrow addition)'),
});
export type SandboxStats = z.infer<typeof SandboxStats>;

export const SystemStats = z.object({
  running_sandboxes: int,
  stopped_sandboxes: int,
  total_sandboxes: int,
  paused_sandboxes: int.optional().describe('Burrow: paused sandboxes (counted in total_sandboxes)'),
});

export const PressureLevel = z.enum(['normal', 'warning', 'high', 'critical', 'emergency']);

export const Resources = z.object({
  host: z.object({ cpu_cores: int, memory_free: int, memory_total: int, memory_used: int }),
  pressure: z.object({
    can_create: z.boolean(),
    level: PressureLevel,
    next_threshold: z.number(),
    score: z.number(),
    // Burrow additions
    reason: z.string().optional().describe('Why the level is what it is: memory score and stalls'),
    stall: z
      .object({ some_avg10: z.number(), full_avg10: z.number() })
      .optional()
      .describe(
        "The host's memory stall percentages over 10 s (/proc/pressure/memory), when the kernel has them",
      ),
    soft_limit: int
      .optional()
      .describe('Soft memory limit given to running sandboxes at high and above; 0 = none'),
    throttled: int.optional().describe('Sandboxes under that soft limit'),
    top: z
      .array(
        z.object({
          id: z.string(),
          memory_usage: int,
          soft_limit: int,
          stall_percent: z.number().optional(),
          major_faults: int.optional(),
        }),
      )
      .optional()
      .describe('The biggest running sandboxes (up to 5), measured at warning and above'),
    actions: z
      .array(
        z.object({
          at: z.string(),
          action: z.enum(['throttle', 'unthrottle', 'pause', 'warm_pool_release', 'refuse_creates']),
          sandboxes: z.array(z.string()),
          reason: z.string(),
        }),
      )
      .optional()
      .describe('What the monitor did and why, newest last (up to 20)'),
  }),
  sandboxes: z.object({
    active: int,
    total: int,
    paused: int.optional().describe('Burrow: paused sandboxes'),
  }),
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
  /** Use against quotas per tenant (Burrow addition): every tenant for an admin key, its own for a tenant key. */
  tenants: z.array(TenantUsage).optional(),
});
export type Resources = z.infer<typeof Resources>;
