/** Parsing of command-line values: K=V pairs, durations, sizes, CPU counts and `<id>:<path>` operands. */
import { InvalidArgumentError } from 'commander';

/** Commander collector for repeatable `K=V` options. */
export function collectKeyValue(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const index = value.indexOf('=');
  if (index <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got "${value}"`);
  return { ...previous, [value.slice(0, index)]: value.slice(index + 1) };
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds from `90`, `90s`, `30m`, `1h30m`, `2d`. */
export function parseDurationSeconds(value: string): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) {
    throw new InvalidArgumentError(`"${value}" is not a duration: use seconds or e.g. 90s, 30m, 1h30m`);
  }
  const seconds = parts.reduce(
    (sum, part) => sum + Number(part[1]) * (DURATION_UNITS[part[2] ?? 's'] ?? 1),
    0,
  );
  return Math.ceil(seconds);
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Bytes from `1048576`, `512m`, `1g`, `1.5GiB`, `256MB`. */
export function parseSize(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(value.trim());
  if (match === null) throw new InvalidArgumentError(`"${value}" is not a size: use bytes or e.g. 512m, 1g`);
  return Math.round(Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
}

/** CPU cores from `0.5`, `2`; Den's nano-CPU integers (>= 1000000) are accepted too. */
export function parseCpus(value: string): number {
  const cpus = Number(value);
  if (!Number.isFinite(cpus) || cpus <= 0)
    throw new InvalidArgumentError(`"${value}" is not a CPU count: use e.g. 0.5 or 2`);
  return cpus >= 1_000_000 ? cpus / 1e9 : cpus;
}

/** A positive integer argument. */
export function parsePositiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) <= 0)
    throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return Number(value);
}

export type CopyEndpoint =
  { kind: 'local'; path: string } | { kind: 'remote'; sandboxId: string; path: string };

/**
 * `<id>:<path>` is a sandbox path (the path must be absolute); anything else is local. A local path containing a
 * colon can be written `./a:b`.
 */
export function parseCopyEndpoint(value: string): CopyEndpoint {
  const match = /^([A-Za-z0-9][A-Za-z0-9_-]*):(.*)$/.exec(value);
  if (match === null || value.startsWith('./') || value.startsWith('/'))
    return { kind: 'local', path: value };
  const path = match[2] ?? '';
  if (!path.startsWith('/'))
    throw new InvalidArgumentError(
      `"${value}": the path inside the sandbox must be absolute (${match[1]}:/tmp/...)`,
    );
  return { kind: 'remote', sandboxId: match[1] ?? '', path };
}

/** `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A short human duration: `45s`, `5m`, `3h12m`, `2d4h`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
}

/** Left-aligned columns separated by two spaces. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
