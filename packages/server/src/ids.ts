/**
 * Time-sortable identifiers in the form of xid (20 lower-case base32hex characters), as Den uses for sandboxes:
 * 4 bytes of seconds since the epoch, 5 random bytes fixed per process, and a 3-byte counter.
 */
import { randomBytes, randomInt } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuv';
const PROCESS_BYTES = randomBytes(5);
let counter = randomInt(0, 0xffffff);

function encode(bytes: Buffer): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

export function newId(now: Date = new Date()): string {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32BE(Math.floor(now.getTime() / 1000) >>> 0, 0);
  PROCESS_BYTES.copy(bytes, 4);
  counter = (counter + 1) & 0xffffff;
  bytes.writeUIntBE(counter, 9, 3);
  return encode(bytes);
}

export const SANDBOX_ID_PATTERN = /^[0-9a-v]{20}$/;
export const SNAPSHOT_ID_PATTERN = /^snap-[0-9a-v]{20}$/;

export function newSandboxId(now?: Date): string {
  return newId(now);
}

export function newSnapshotId(now?: Date): string {
  return `snap-${newId(now)}`;
}
