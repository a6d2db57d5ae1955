/**
 * `?path=` read from the raw request URL. Fastify's parsed query is text, so a percent-encoded byte that is not
 * UTF-8 (`%FF`) would turn into U+FFFD and name a different file; decoding the raw URL keeps the bytes. As with
 * Go's `url.Query()`, `+` means a space and the first `path` parameter wins.
 */
import { BurrowError } from '@burrow/protocol';
import type { FastifyRequest } from 'fastify';
import { sandboxPathBytes } from '../runtime/paths.js';
import type { SandboxPath } from '../runtime/runtime.js';

const PERCENT = 0x25;
const PLUS = 0x2b;

function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}

/** Percent-decodes one query component into bytes; undefined when an escape is malformed. */
export function decodeQueryComponent(component: string): Buffer | undefined {
  const raw = Buffer.from(component, 'utf8');
  const out = Buffer.alloc(raw.length);
  let length = 0;
  for (let i = 0; i < raw.length; i += 1) {
    const byte = raw[i] ?? 0;
    if (byte === PERCENT) {
      const high = hexValue(raw[i + 1] ?? -1);
      const low = hexValue(raw[i + 2] ?? -1);
      if (high < 0 || low < 0) return undefined;
      out[length++] = high * 16 + low;
      i += 2;
    } else {
      out[length++] = byte === PLUS ? 0x20 : byte;
    }
  }
  return out.subarray(0, length);
}

/** The raw bytes of a query parameter, or undefined when absent. */
export function rawQueryParam(url: string, name: string): Buffer | undefined {
  const start = url.indexOf('?');
  if (start < 0) return undefined;
  const end = url.indexOf('#', start);
  const query = url.slice(start + 1, end < 0 ? undefined : end);
  for (const pair of query.split('&')) {
    const equals = pair.indexOf('=');
    const key = decodeQueryComponent(equals < 0 ? pair : pair.slice(0, equals));
    if (key?.toString('utf8') !== name) continue;
    const value = decodeQueryComponent(equals < 0 ? '' : pair.slice(equals + 1));
    if (value === undefined) {
      throw new BurrowError(
        'INVALID_PATH',
        `${name} query parameter is not valid percent-encoding: encode it with encodeURIComponent`,
      );
    }
    return value;
  }
  return undefined;
}

/** Text when the bytes are UTF-8 (readable in logs and errors), the bytes themselves otherwise. */
function asSandboxPath(bytes: Buffer): SandboxPath {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : bytes;
}

/**
 * The `path` query parameter, checked (absolute, no NUL, no `..`). Missing or empty: `fallback` when given,
 * else 400 `path query parameter is required` (Den's message).
 */
export function queryPath(request: FastifyRequest, fallback?: string): SandboxPath {
  const bytes = rawQueryParam(request.raw.url ?? '', 'path');
  if (bytes === undefined || bytes.length === 0) {
    if (fallback !== undefined) return fallback;
    throw new BurrowError(
      'INVALID_PATH',
      'path query parameter is required: add ?path=<absolute path in the sandbox>',
    );
  }
  sandboxPathBytes(bytes);
  return asSandboxPath(bytes);
}

/** The last path component, for `Content-Disposition`. */
export function baseName(path: SandboxPath): Buffer {
  const bytes = Buffer.from(path);
  let end = bytes.length;
  while (end > 1 && bytes[end - 1] === 0x2f) end -= 1;
  const start = bytes.lastIndexOf(0x2f, end - 1) + 1;
  return bytes.subarray(start, end);
}
