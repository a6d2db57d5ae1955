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
  pressure: z.object({ can_create: z.boolean(), level: PressureLevel, next_threshold: z.number(), score: z.number() }),
  sandboxes: z.object({ active: int, total: int }),
});
export type Resources = z.infer<typeof Resources>;
