import { z } from 'zod';

/** Den's capability tokens, which Den's SDKs probe for, plus Burrow's own. */
export const DEN_FEATURES = ['network_mode', 'start', 'file_stat', 'sandbox_ip', 'writable_rootfs'] as const;
export const BURROW_FEATURES = [
  'exec_stdin',
  'exec_signal',
  'exec_timeout_kill',
  'sandbox_timeout',
  'snapshot_tmpfs',
  'multipart_upload',
  'file_streaming',
  'labels',
  'openapi',
  's3_transfer',
  's3_prefix_transfer',
  's3_sync_reports',
  'runtime_choice',
  'pause',
  'fork',
  'idle_policy',
  'memory_pressure',
  'metrics',
  'preview_urls',
  'dynamic_ports',
  'egress_policy',
  'egress_secrets',
  'tenancy',
] as const;
/**
 * Terminals (exec with pty), background processes and file watching: advertised only where the server's path into
 * sandboxes has the in-sandbox agent (the Engine API path answers NOT_SUPPORTED).
 */
export const INTERACTIVE_FEATURES = ['pty', 'processes', 'file_watch'] as const;
export const FEATURES: readonly string[] = [...DEN_FEATURES, ...BURROW_FEATURES];

export const Health = z.object({
  status: z.literal('ok'),
  features: z.array(z.string()),
  runtimes: z
    .array(z.object({ runtime: z.enum(['runc', 'gvisor']), network_modes: z.array(z.string()) }))
    .optional()
    .describe('Isolation runtimes this server offers, with the network modes each gives (Burrow addition)'),
});
export const Unhealthy = z.object({ status: z.literal('unhealthy'), reason: z.string() });

export const Version = z.object({
  version: z.string(),
  commit: z.string(),
  build_date: z.string(),
  features: z.array(z.string()),
  api: z.string(),
});

export const API_VERSION = 'v1';
