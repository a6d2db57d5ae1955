import type { SandboxPolicy } from '../engine/admission.js';
import { DEFAULT_TMPFS } from '../storage/tmpfs.js';

/** The server's default sandbox policy, for tests; `overrides` changes single settings (e.g. the default image). */
export function testPolicy(overrides: Partial<SandboxPolicy> = {}): SandboxPolicy {
  return {
    defaultImage: 'fake/image',
    defaultTimeoutMs: 30 * 60_000,
    maxTimeoutMs: 24 * 3600_000,
    defaultCpu: 0,
    defaultMemory: 0,
    defaultPidLimit: 256,
    defaultNetworkMode: 'internal',
    defaultTmpfs: DEFAULT_TMPFS,
    allowVolumes: true,
    allowSharedVolumes: true,
    maxVolumesPerSandbox: 5,
    allowS3: true,
    allowS3Fuse: false,
    // Tests of other things see no ceilings; production always has them (main.ts resolves 0 to the host's size).
    maxPidLimit: 4096,
    maxMemory: 0,
    maxCpu: 0,
    maxTmpfsBytes: 8 * 1024 ** 3,
    hostPortRange: { min: 1, max: 65535 },
    ...overrides,
  };
}
