/**
 * Several users on one server (Burrow addition): API keys kept by the server (created, listed and revoked
 * without a restart), the tenant each belongs to, the audit log, and each tenant's use against its quotas.
 */
import { z } from 'zod';
import { int, optional } from './sandbox.js';

/**
 * Key and tenant names: 1-64 letters, digits, `_` or `-`, starting with a letter or digit (no `.`: a tenant's volume
 * names are `<tenant>.<name>`, which must not be ambiguous).
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const name = z
  .string()
  .regex(NAME_PATTERN, 'use 1-64 letters, digits, "_" or "-", starting with a letter or digit');

export const ApiKeyFormat = z.enum(['burrow', 'e2b']);

export const CreateApiKeyRequest = z.object({
  name: name.describe('Unique among keys not revoked; shown in listings and the audit log'),
  tenant: optional(name).describe('The tenant its sandboxes belong to (default: the key name)'),
  admin: optional(z.boolean()).describe('An admin key sees and manages every tenant (default false)'),
  expires_in: optional(int.positive()).describe('Seconds until the key stops working (default: never)'),
  format: optional(ApiKeyFormat).describe(
    '"burrow" (bk_<base64url>, the default) or "e2b" (e2b_<40 hex>, the shape E2B clients expect)',
  ),
});
export type CreateApiKeyRequest = z.input<typeof CreateApiKeyRequest>;

export const ApiKeyInfo = z.object({
  id: z.string(),
  name: z.string(),
  tenant: z.string(),
  admin: z.boolean(),
  prefix: z.string().describe('The first characters of the key, to recognise it; never enough to use it'),
  created_at: z.string(),
  created_by: z.string().describe('Who created it: a key name, or cli:<user> on the server host'),
  expires_at: z.string().optional(),
  last_used_at: z.string().optional().describe('Written in batches: up to 30 s behind in burrow keys ls'),
  revoked_at: z.string().optional(),
});
export type ApiKeyInfo = z.infer<typeof ApiKeyInfo>;

export const CreatedApiKey = ApiKeyInfo.extend({
  key: z.string().describe('The key itself: shown this once, the server keeps only its SHA-256'),
});
export type CreatedApiKey = z.infer<typeof CreatedApiKey>;

export const AuditEntry = z.object({
  id: int,
  at: z.string(),
  key_id: z.string(),
  key_name: z.string().describe('"system" for the server itself (the reaper, shutdown)'),
  tenant: z.string(),
  action: z.string().describe('e.g. sandbox.create, exec, file.write, sandbox.destroy, key.create'),
  sandbox_id: z.string().optional(),
  detail: z
    .record(z.string(), z.unknown())
    .optional()
    .describe('What was done: exec argv, a file path; never env values, stdin or file contents'),
  outcome: z.string().describe('"ok", or the error code it failed with'),
  address: z.string().optional().describe('The client address the request came from'),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** A tenant's limits; 0 = none. */
export const TenantQuota = z.object({
  sandboxes: int.describe('Sandboxes at once (creating, running and paused count)'),
  memory: int.describe('Bytes of memory of its active sandboxes together'),
  cpu: int.describe('Nano-CPUs of its active sandboxes together'),
  snapshots: int.describe('Snapshots stored'),
});

export const TenantUsage = z.object({
  tenant: z.string(),
  sandboxes: int,
  memory: int,
  cpu: int,
  snapshots: int,
  quota: TenantQuota,
});
export type TenantUsage = z.infer<typeof TenantUsage>;
