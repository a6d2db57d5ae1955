/** A running sandbox's new CPU, memory and process limits, checked, in the engine's and the cgroup's terms. */
import { cpus, totalmem } from 'node:os';
import { BurrowError } from '@burrow/protocol';
import type { SandboxLimits } from '../runtime.js';
import type { CgroupLimitUpdate } from './cgroup-limits.js';

/** Docker refuses less (and a kernel needs some to start a process at all). */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

export function checkLimits(limits: SandboxLimits): void {
  for (const [key, value] of Object.entries(limits)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `${key} must be a whole non-negative number, 0 to remove the limit`,
      );
    }
  }
  if (limits.memory !== undefined && limits.memory > 0 && limits.memory < MIN_MEMORY_BYTES) {
    throw new BurrowError('VALIDATION_FAILED', 'memory limit must be at least 6 MiB (Docker refuses less)');
  }
}

/**
 * The engine's container update. On update, 0 means "unchanged" to the engine and -1 is refused for memory (API
 * 1.41): a lifted CPU or memory limit becomes the whole host, which is what an unlimited container gets anyway.
 * -1 lifts the process limit. Swap is kept equal to memory (no swap).
 */
export function engineUpdate(limits: SandboxLimits) {
  const update: { NanoCpus?: number; Memory?: number; MemorySwap?: number; PidsLimit?: number } = {};
  if (limits.cpu !== undefined) update.NanoCpus = limits.cpu === 0 ? cpus().length * 1e9 : limits.cpu;
  if (limits.memory !== undefined) {
    update.Memory = limits.memory === 0 ? totalmem() : limits.memory;
    update.MemorySwap = update.Memory;
  }
  if (limits.pidLimit !== undefined) update.PidsLimit = limits.pidLimit === 0 ? -1 : limits.pidLimit;
  return update;
}

/**
 * Host tasks gVisor's sentry and gofer use besides the sandbox's own (its Go runtime's threads: about 40 for an idle
 * sandbox here). The host's pids controller counts them too, so a gVisor sandbox's pids limit gets this much room
 * on top, or a small limit would stop the sentry itself rather than the sandbox's processes.
 */
export const GVISOR_PIDS_OVERHEAD = 96;

export function cgroupUpdate(limits: SandboxLimits): CgroupLimitUpdate {
  const update: CgroupLimitUpdate = {};
  if (limits.memory !== undefined) update.memory = limits.memory;
  if (limits.cpu !== undefined) update.nanoCpus = limits.cpu;
  if (limits.pidLimit !== undefined)
    update.pids = limits.pidLimit === 0 ? 0 : limits.pidLimit + GVISOR_PIDS_OVERHEAD;
  return update;
}
