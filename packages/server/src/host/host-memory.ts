/**
 * The host's memory as the pressure monitor samples it: `/proc/meminfo` (MemTotal, MemAvailable: page cache that
 * can be dropped counts as available) and the kernel's pressure stall information in `/proc/pressure/memory`
 * when the kernel has it. Elsewhere (no /proc), Node's totalmem/freemem.
 */
import { readFile } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import type { HostMemorySample, HostMemorySource } from '../engine/pressure/monitor.js';

export interface ProcHostMemoryOptions {
  meminfo?: string;
  pressure?: string;
}

/** `MemTotal:  24684372 kB` → bytes. */
export function meminfoValue(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** `some avg10=1.00 ...` and `full avg10=0.50 ...` lines of a PSI file. */
export function parseStall(text: string): HostMemorySample['stall'] {
  const some = /^some avg10=(\d+(?:\.\d+)?)/m.exec(text);
  const full = /^full avg10=(\d+(?:\.\d+)?)/m.exec(text);
  if (some === null) return undefined;
  return { someAvg10: Number(some[1]), fullAvg10: full === null ? 0 : Number(full[1]) };
}

export class ProcHostMemory implements HostMemorySource {
  private readonly meminfo: string;
  private readonly pressure: string;

  constructor(options: ProcHostMemoryOptions = {}) {
    this.meminfo = options.meminfo ?? '/proc/meminfo';
    this.pressure = options.pressure ?? '/proc/pressure/memory';
  }

  async sample(): Promise<HostMemorySample> {
    let total = totalmem();
    let available = freemem();
    try {
      const text = await readFile(this.meminfo, 'utf8');
      total = meminfoValue(text, 'MemTotal') ?? total;
      available = meminfoValue(text, 'MemAvailable') ?? meminfoValue(text, 'MemFree') ?? available;
    } catch {
      // Not Linux: Node's figures.
    }
    const sample: HostMemorySample = { total, available: Math.min(available, total) };
    try {
      const stall = parseStall(await readFile(this.pressure, 'utf8'));
      if (stall !== undefined) sample.stall = stall;
    } catch {
      // No PSI on this kernel: the score alone decides.
    }
    return sample;
  }
}
