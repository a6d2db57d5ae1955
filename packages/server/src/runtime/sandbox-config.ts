/** Checks and views of a SandboxConfig that every backend shares. */
import { BurrowError } from '@burrow/protocol';
import type { SandboxConfig } from './runtime.js';

/** Label keys with this prefix are Burrow's own bookkeeping. */
export const RESERVED_LABEL_PREFIX = 'burrow.';

export function checkCallerLabels(labels: Record<string, string> = {}): void {
  for (const key of Object.keys(labels)) {
    if (key.startsWith(RESERVED_LABEL_PREFIX)) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `labels: "${key}" is reserved: caller labels may not start with "${RESERVED_LABEL_PREFIX}"`,
      );
    }
  }
}

/**
 * The configuration as recorded on the container: everything but secrets (S3 keys, egress secrets: a restored
 * sandbox gets those from its original's record, or not at all) and the engine's internal host bind.
 */
export function publicConfig(config: SandboxConfig): SandboxConfig {
  const { s3FuseBind: _bind, secrets: _secrets, ...rest } = config;
  const storage = rest.storage;
  if (storage?.s3 === undefined) return rest;
  const { accessKey: _accessKey, secretKey: _secretKey, ...s3 } = storage.s3;
  return { ...rest, storage: { ...storage, s3 } };
}
