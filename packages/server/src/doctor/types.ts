/** What a host check says: one line each, with what to do about what does not work. */
import type Dockerode from 'dockerode';
import type { Config } from '../config.js';

/** `fail` means `burrow serve` cannot work (when the check is required); `warn` a feature that will not work. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** What was found, e.g. "Docker 20.10.24 (API 1.41) at unix:///var/run/docker.sock". */
  detail: string;
  /** What to do about it (absent when there is nothing to do). */
  fix?: string;
  /** A failed required check stops `burrow serve` and makes `burrow doctor` exit non-zero. */
  required: boolean;
}

export const CHECK_IDS = [
  'docker',
  'cgroup',
  'agent',
  'runsc',
  'disk-quota',
  'fuse',
  'memory',
  'disk',
  'data-dir',
  'port',
  'image',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

/** The checks `burrow serve` runs before it starts: what it cannot start without. */
export const START_CHECKS: readonly CheckId[] = ['docker', 'agent', 'data-dir', 'port'];

/** What the Docker engine said, fetched once for every check that needs it. */
export interface EngineFacts {
  version: { Version?: string; ApiVersion?: string };
  info: {
    CgroupVersion?: string;
    CgroupDriver?: string;
    MemoryLimit?: boolean;
    PidsLimit?: boolean;
    CpuCfsQuota?: boolean;
    Driver?: string;
    DriverStatus?: [string, string][];
    DockerRootDir?: string;
    Runtimes?: Record<string, unknown>;
  };
  /** Where the client talks to the engine, e.g. unix:///var/run/docker.sock. */
  address: string;
}

export interface DoctorContext {
  config: Config;
  docker: Dockerode;
  /** Undefined when Docker does not answer (the engine checks then say `skip`). */
  engine: EngineFacts | undefined;
  /** Why Docker does not answer, when it does not. */
  engineProblem?: { address: string; error: string };
  /** The gVisor runtime's name in Docker's daemon.json (default `runsc`). */
  gvisorRuntime: string;
  /** `burrow serve` is about to start: a taken port is a failure even when a Burrow server holds it. */
  forServe: boolean;
  /** Deadline of any single probe. */
  timeoutMs: number;
}

export type Check = (context: DoctorContext) => Promise<Omit<CheckResult, 'id' | 'required'>>;
