/**
 * A container's memory cgroup on this host, read (and on cgroup v2 written) directly: what the Engine API does not
 * expose. cgroup v1 (as Docker 20.10 on a hybrid host runs it) has a soft limit (`memory.soft_limit_in_bytes`, set
 * through the engine as `MemoryReservation`) and no per-cgroup pressure stall information, so major page faults
 * from `memory.stat` stand in for it. cgroup v2 has `memory.high` (throttling, which the engine cannot set: its
 * `MemoryReservation` is v2's `memory.low`, a protection) and `memory.pressure`. Nothing read here comes from
 * inside a sandbox's control: cgroup files are the kernel's, and every value is parsed defensively.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxMemory } from '../runtime.js';

export type CgroupVersion = 'v1' | 'v2' | 'none';

/** What v1 reports as "no limit" (PAGE_COUNTER_MAX in bytes, page-aligned). */
const V1_UNLIMITED = 2 ** 62;

export interface CgroupOptions {
  /** Where the cgroup filesystem is mounted; `/sys/fs/cgroup`. */
  root?: string;
  /** Where process information lives; `/proc`. */
  proc?: string;
}

export function detectCgroupVersion(root: string): CgroupVersion {
  if (existsSync(join(root, 'cgroup.controllers'))) return 'v2';
  if (existsSync(join(root, 'memory', 'memory.usage_in_bytes'))) return 'v1';
  return 'none';
}

async function readText(path: string): Promise<string | undefined> {
  try {
    // cgroup files are small; cap anyway.
    return (await readFile(path, 'utf8')).slice(0, 64 * 1024);
  } catch {
    return undefined;
  }
}

function parseBytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === 'max') return 0;
  if (!/^\d+$/.test(trimmed)) return undefined;
  const value = Number(trimmed);
  return value >= V1_UNLIMITED ? 0 : value;
}

/** One key of a `memory.stat` file. */
export function statValue(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name === key && value !== undefined && /^\d+$/.test(value)) return Number(value);
  }
  return undefined;
}

/** `some avg10` of a PSI file (`some avg10=1.23 avg60=... total=...`). */
export function psiSomeAvg10(text: string | undefined): number | undefined {
  const match = /^some avg10=(\d+(?:\.\d+)?)/m.exec(text ?? '');
  return match === null ? undefined : Number(match[1]);
}

export class Cgroups {
  readonly version: CgroupVersion;
  private readonly root: string;
  private readonly proc: string;

  constructor(options: CgroupOptions = {}) {
    this.root = options.root ?? '/sys/fs/cgroup';
    this.proc = options.proc ?? '/proc';
    this.version = detectCgroupVersion(this.root);
  }

  /** The container's memory cgroup directory, or undefined when it cannot be found from here (remote engine). */
  async memoryDir(containerId: string, pid: number): Promise<string | undefined> {
    if (!/^[0-9a-f]{12,64}$/.test(containerId) || this.version === 'none') return undefined;
    const base = this.version === 'v1' ? join(this.root, 'memory') : this.root;
    const candidates: string[] = [];
    // Where the kernel says the container's first process lives: right for any cgroup driver and parent.
    if (Number.isInteger(pid) && pid > 0) {
      const lines = (await readText(join(this.proc, String(pid), 'cgroup'))) ?? '';
      for (const line of lines.split('\n')) {
        const [, controllers, path] = /^\d+:([^:]*):(\/.*)$/.exec(line.trim()) ?? [];
        if (path === undefined || path.includes('..')) continue;
        const matches =
          this.version === 'v2' ? controllers === '' : (controllers ?? '').split(',').includes('memory');
        if (matches) candidates.push(join(base, path));
      }
    }
    candidates.push(
      join(base, 'docker', containerId),
      join(base, 'system.slice', `docker-${containerId}.scope`),
    );
    const probe = this.version === 'v1' ? 'memory.usage_in_bytes' : 'memory.current';
    return candidates.find((dir) => existsSync(join(dir, probe)));
  }

  async read(dir: string): Promise<SandboxMemory> {
    if (this.version === 'v1') {
      const stat = await readText(join(dir, 'memory.stat'));
      const memory: SandboxMemory = {
        usage: parseBytes(await readText(join(dir, 'memory.usage_in_bytes'))) ?? 0,
        softLimit: parseBytes(await readText(join(dir, 'memory.soft_limit_in_bytes'))) ?? 0,
      };
      const faults = statValue(stat, 'total_pgmajfault') ?? statValue(stat, 'pgmajfault');
      if (faults !== undefined) memory.majorFaults = faults;
      return memory;
    }
    const memory: SandboxMemory = {
      usage: parseBytes(await readText(join(dir, 'memory.current'))) ?? 0,
      softLimit: parseBytes(await readText(join(dir, 'memory.high'))) ?? 0,
    };
    const stall = psiSomeAvg10(await readText(join(dir, 'memory.pressure')));
    if (stall !== undefined) memory.stallPercent = stall;
    const faults = statValue(await readText(join(dir, 'memory.stat')), 'pgmajfault');
    if (faults !== undefined) memory.majorFaults = faults;
    return memory;
  }

  /** cgroup v1: sets `memory.soft_limit_in_bytes` (0 = -1, no soft limit). */
  async writeSoftLimit(dir: string, bytes: number): Promise<void> {
    await writeFile(join(dir, 'memory.soft_limit_in_bytes'), bytes === 0 ? '-1' : String(bytes));
  }

  /** cgroup v2 only: sets `memory.high` (0 = `max`, no throttling). */
  async writeHigh(dir: string, bytes: number): Promise<void> {
    await writeFile(join(dir, 'memory.high'), bytes === 0 ? 'max' : String(bytes));
  }
}
