/** Parsing what FILES_SCRIPT prints for stat and list (formats in scripts.ts). */
import { BurrowError } from '@burrow/protocol';
import { joinPath } from '../../agent/agent-client.js';
import { fileInfoFromStat, type StatRecord } from '../../agent/stat-record.js';
import type { FileInfo } from '../../runtime.js';

const NEWLINE = 0x0a;
const STAT_LINE = /^S([0-9a-f]+) (\d+) (-?\d+) \S+ \d+:\d+:\d+(?:\.(\d+))? \S+$/;

export function statRecord(line: string, name: Buffer, linkTarget: Buffer = Buffer.alloc(0)): StatRecord {
  const match = STAT_LINE.exec(line);
  if (match === null)
    throw new BurrowError('INTERNAL', `unexpected stat output in the sandbox: ${line.slice(0, 200)}`);
  const [, mode = '0', size = '0', seconds = '0', fraction = ''] = match;
  return {
    mode: parseInt(mode, 16),
    size: Number(size),
    mtimeSec: Number(seconds),
    mtimeNsec: fraction === '' ? 0 : Number(fraction.slice(0, 9).padEnd(9, '0')),
    name,
    linkTarget,
  };
}

/** Reads `<tag><len>:<bytes>` at `offset`; returns the bytes and the offset after them. */
export function lengthPrefixed(out: Buffer, offset: number): [Buffer, number] {
  const colon = out.indexOf(0x3a, offset + 1);
  const length = Number(out.subarray(offset + 1, colon).toString('latin1'));
  if (colon < 0 || !Number.isInteger(length))
    throw new BurrowError('INTERNAL', 'unexpected listing output in the sandbox');
  return [out.subarray(colon + 1, colon + 1 + length), colon + 1 + length];
}

/** The list output: names (with link targets) announced first, then stat lines naming them in the same order. */
export function parseListing(out: Buffer, directory: Buffer): FileInfo[] {
  const pending: { name: Buffer; link?: Buffer }[] = [];
  const entries: FileInfo[] = [];
  let offset = 0;
  while (offset < out.length) {
    const tag = String.fromCharCode(out[offset] ?? 0);
    if (tag === 'N' || tag === 'L') {
      const [bytes, next] = lengthPrefixed(out, offset);
      if (tag === 'N') pending.push({ name: bytes });
      else if (pending.length > 0) pending[pending.length - 1]!.link = bytes;
      offset = next;
      continue;
    }
    if (tag !== 'S') throw new BurrowError('INTERNAL', 'unexpected listing output in the sandbox');
    // Six fields (mode, size, mtime, date, time, zone), then "./<name>\n".
    let fieldEnd = offset;
    for (let spaces = 0; spaces < 6; spaces += 1) fieldEnd = out.indexOf(0x20, fieldEnd + 1);
    const nameStart = fieldEnd + 3;
    const fields = out.subarray(offset, fieldEnd).toString('latin1');
    // stat skips an entry removed since it was announced: match the announced names in order.
    let matched = -1;
    for (let index = 0; index < pending.length && matched < 0; index += 1) {
      const name = pending[index]!.name;
      const end = nameStart + name.length;
      if (out.subarray(nameStart, end).equals(name) && out[end] === NEWLINE) matched = index;
    }
    if (fieldEnd < 0 || matched < 0)
      throw new BurrowError('INTERNAL', 'unexpected listing output in the sandbox');
    const entry = pending[matched]!;
    pending.splice(0, matched + 1);
    const record = statRecord(fields, entry.name, entry.link);
    entries.push(fileInfoFromStat(record, joinPath(directory, entry.name)));
    offset = nameStart + entry.name.length + 1;
  }
  return entries;
}
