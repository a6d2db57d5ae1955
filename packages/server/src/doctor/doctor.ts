/**
 * `burrow doctor`: checks the host and says, one line each, what works and what to do about what doesn't.
 * `burrow serve` runs the required subset (START_CHECKS) before it starts, so both say the same thing.
 */
import Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import type { Config } from '../config.js';
import {
  cgroupCheck,
  diskQuotaCheck,
  dockerCheck,
  engineFacts,
  imageCheck,
  runscCheck,
} from './engine-checks.js';
import { agentCheck, dataDirCheck, diskCheck, fuseCheck, memoryCheck, portCheck } from './host-checks.js';
import { CHECK_IDS, START_CHECKS, type Check, type CheckId, type CheckResult } from './types.js';

const CHECKS: Record<CheckId, { check: Check; required: boolean }> = {
  docker: { check: dockerCheck, required: true },
  cgroup: { check: cgroupCheck, required: false },
  agent: { check: agentCheck, required: true },
  runsc: { check: runscCheck, required: false },
  'disk-quota': { check: diskQuotaCheck, required: false },
  fuse: { check: fuseCheck, required: false },
  memory: { check: memoryCheck, required: false },
  disk: { check: diskCheck, required: false },
  'data-dir': { check: dataDirCheck, required: true },
  port: { check: portCheck, required: true },
  image: { check: imageCheck, required: false },
};

export interface DoctorOptions {
  config: Config;
  docker?: Dockerode;
  /** Only these checks (default: all). */
  only?: readonly CheckId[];
  skip?: readonly CheckId[];
  /** The gVisor runtime's name in Docker (default `runsc`). */
  gvisorRuntime?: string;
  /** `burrow serve` is about to start (a port held by a Burrow server is then a failure too). */
  forServe?: boolean;
  /** Deadline of each probe (default 15 s). */
  timeoutMs?: number;
}

/** Runs the checks, in CHECK_IDS order; a check that throws is reported as failed, never thrown. */
export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const docker = options.docker ?? new Dockerode();
  const timeoutMs = options.timeoutMs ?? 15_000;
  const wanted = CHECK_IDS.filter(
    (id) => (options.only?.includes(id) ?? true) && !(options.skip?.includes(id) ?? false),
  );
  const engine = await engineFacts(docker, Math.min(timeoutMs, 10_000));
  const context = {
    config: options.config,
    docker,
    engine: 'facts' in engine ? engine.facts : undefined,
    ...('error' in engine ? { engineProblem: engine } : {}),
    gvisorRuntime: options.gvisorRuntime ?? 'runsc',
    forServe: options.forServe ?? false,
    timeoutMs,
  };
  const results: CheckResult[] = [];
  for (const id of wanted) {
    const { check, required } = CHECKS[id];
    try {
      const result = await check(context);
      results.push({ id, required, ...result });
    } catch (error) {
      results.push({
        id,
        required,
        status: 'fail',
        detail: `the check itself failed: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }
  return results;
}

/** Required checks that failed: `burrow serve` cannot work until they are fixed. */
export function requiredFailures(results: readonly CheckResult[]): CheckResult[] {
  return results.filter((result) => result.required && result.status === 'fail');
}

const MARK: Record<CheckResult['status'], string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip' };

/** One line a check: `  ok    docker      Docker 20.10.24 (API 1.41) at unix:///var/run/docker.sock`. */
export function formatCheck(result: CheckResult): string {
  const optional = result.status === 'fail' && !result.required ? ' (optional)' : '';
  const fix = result.fix === undefined ? '' : ` -> ${result.fix}`;
  return `  ${MARK[result.status]}  ${result.id.padEnd(10)}  ${result.detail}${optional}${fix}`;
}

/** The whole report, ending with a summary line. */
export function formatDoctor(results: readonly CheckResult[]): string {
  const failed = requiredFailures(results);
  const warnings = results.filter((result) => result.status === 'warn').length;
  const summary =
    failed.length > 0
      ? `${failed.length} required check${failed.length === 1 ? '' : 's'} failed (${failed.map((r) => r.id).join(', ')}): burrow serve cannot start until ${failed.length === 1 ? 'it is' : 'they are'} fixed`
      : `ready for burrow serve${warnings > 0 ? ` (${warnings} warning${warnings === 1 ? '' : 's'}: optional features)` : ''}`;
  return [...results.map(formatCheck), summary].join('\n');
}

/**
 * The checks `burrow serve` runs before starting; throws the doctor's lines when a required one fails.
 *
 * @example
 * await assertReadyToServe(config); // throws RUNTIME_UNAVAILABLE: "the host is not ready ...\n  FAIL  docker ..."
 */
export async function assertReadyToServe(config: Config, docker?: Dockerode): Promise<CheckResult[]> {
  const results = await runDoctor({
    config,
    only: START_CHECKS,
    forServe: true,
    ...(docker === undefined ? {} : { docker }),
  });
  const failed = requiredFailures(results);
  if (failed.length > 0) {
    throw new BurrowError(
      'RUNTIME_UNAVAILABLE',
      `the host is not ready for burrow serve (burrow doctor checks everything):\n${failed.map(formatCheck).join('\n')}`,
    );
  }
  return results;
}
