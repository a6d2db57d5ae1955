/** What a fork copies: the records of the new sandboxes, before the runtime makes them. */
import { BurrowError } from '@burrow/protocol';
import { newSandboxId } from '../ids.js';
import type { SandboxConfig } from '../runtime/runtime.js';
import type { SandboxRecord } from '../store/store.js';

/** Most copies one fork makes. */
export const MAX_FORK_COUNT = 20;

export function checkForkCount(count: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_FORK_COUNT) {
    throw new BurrowError('VALIDATION_FAILED', `count: give a whole number from 1 to ${MAX_FORK_COUNT}`, {
      field: 'count',
    });
  }
}

/**
 * The original's configuration without what cannot be shared: host ports (bind once), S3 sync, the FUSE bind, and
 * egress secrets (they ride on the original's own CA, whose key the server keeps for that sandbox alone).
 */
export function forkConfig(config: SandboxConfig): SandboxConfig {
  const { ports: _ports, s3FuseBind: _bind, secrets: _secrets, ...copy } = config;
  if (copy.storage?.s3 !== undefined) {
    const { s3: _s3, ...storage } = copy.storage;
    copy.storage = storage;
  }
  return copy;
}

/** `count` records (status `creating`) of copies of `original`, each with the original's lifetime length. */
export function forkRecords(
  original: SandboxRecord,
  count: number,
  now: Date,
  defaultTimeoutMs: number,
): SandboxRecord[] {
  const lifetime =
    original.expiresAt !== undefined
      ? original.expiresAt.getTime() - original.createdAt.getTime()
      : defaultTimeoutMs;
  const config = forkConfig(original.config);
  return Array.from({ length: count }, (_unused, index) => ({
    // Ids are time-sortable: one millisecond apart keeps the copies in order.
    id: newSandboxId(new Date(now.getTime() + index)),
    image: original.image,
    status: 'creating' as const,
    config,
    createdAt: now,
    expiresAt: new Date(now.getTime() + lifetime),
  }));
}
