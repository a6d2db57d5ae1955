/**
 * Limits of a running gVisor sandbox, written to its cgroup on the host. runsc (Debian's, 2022) has no `update`
 * command, so the engine's container update fails for it; runsc puts the sandbox (its sentry and gofer, which hold
 * all of the sandbox's memory and CPU) into the container's cgroup, so the host's controllers enforce the same
 * limits when they are written there. Paths come from the engine's container id (64 hex digits, checked), never
 * from anything inside the sandbox.
 */
import { access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BurrowError } from '@burrow/protocol';

export interface CgroupTarget {
  /** The container's full id. */
  id: string;
  /** HostConfig.CgroupParent (empty: Docker's default `/docker`). */
  parent: string;
}

export interface CgroupLimitUpdate {
  memory?: number;
  nanoCpus?: number;
  pids?: number;
}

const PERIOD_US = 100_000;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export class CgroupLimits {
  constructor(private readonly root = '/sys/fs/cgroup') {}

  private async dirs(target: CgroupTarget): Promise<{ v2: boolean; dir: (controller: string) => string }> {
    if (!/^[0-9a-f]{64}$/.test(target.id)) throw new BurrowError('INTERNAL', 'unexpected container id');
    const parent = target.parent === '' ? '/docker' : target.parent;
    if (!parent.startsWith('/') || parent.includes('..') || parent.endsWith('.slice')) {
      throw new BurrowError(
        'NOT_SUPPORTED',
        "changing the limits of a running gVisor sandbox needs Docker's cgroupfs cgroup driver (cgroup parent like /docker)",
      );
    }
    const v2 = await exists(join(this.root, 'cgroup.controllers'));
    return {
      v2,
      dir: (controller) =>
        v2 ? join(this.root, parent, target.id) : join(this.root, controller, parent, target.id),
    };
  }

  async apply(target: CgroupTarget, update: CgroupLimitUpdate): Promise<void> {
    const { v2, dir } = await this.dirs(target);
    if (update.memory !== undefined) await this.memory(v2, dir('memory'), update.memory);
    if (update.nanoCpus !== undefined) {
      const quota =
        update.nanoCpus === 0 ? -1 : Math.max(1000, Math.round((update.nanoCpus / 1e9) * PERIOD_US));
      if (v2) await writeFile(join(dir('cpu'), 'cpu.max'), `${quota < 0 ? 'max' : quota} ${PERIOD_US}`);
      else {
        await writeFile(join(dir('cpu'), 'cpu.cfs_period_us'), String(PERIOD_US));
        await writeFile(join(dir('cpu'), 'cpu.cfs_quota_us'), String(quota));
      }
    }
    if (update.pids !== undefined) {
      await writeFile(join(dir('pids'), 'pids.max'), update.pids === 0 ? 'max' : String(update.pids));
    }
  }

  /** Memory without extra swap, as Docker sets it: on v1 the memory+swap limit moves with it, in the order that keeps it >= memory. */
  private async memory(v2: boolean, dir: string, bytes: number): Promise<void> {
    if (v2) {
      await writeFile(join(dir, 'memory.max'), bytes === 0 ? 'max' : String(bytes));
      if (await exists(join(dir, 'memory.swap.max')))
        await writeFile(join(dir, 'memory.swap.max'), bytes === 0 ? 'max' : '0');
      return;
    }
    const value = bytes === 0 ? '-1' : String(bytes);
    const memsw = join(dir, 'memory.memsw.limit_in_bytes');
    const hasSwap = await exists(memsw);
    const limit = join(dir, 'memory.limit_in_bytes');
    if (bytes === 0) {
      if (hasSwap) await writeFile(memsw, value);
      await writeFile(limit, value);
      return;
    }
    // Raising: memsw first (it may not be below memory); lowering: memory first.
    try {
      if (hasSwap) await writeFile(memsw, value);
      await writeFile(limit, value);
    } catch {
      await writeFile(limit, value);
      if (hasSwap) await writeFile(memsw, value);
    }
  }
}
