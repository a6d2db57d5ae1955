/**
 * Background processes and watches: domain ↔ wire. Requests are checked here, at the edge, so every backend gives
 * the same 4xx with the same message (the runtime checks again).
 */
import type { StartProcessRequest } from '@burrow/protocol';
import { BurrowError, type ProcessInfo as WireProcessInfo, type WatchServerMessage } from '@burrow/protocol';
import type { z } from 'zod';
import { checkProcessId, MAX_TAG_LENGTH } from '../runtime/process-options.js';
import { sandboxPathString } from '../runtime/paths.js';
import type { ProcessInfo, ProcessStartOptions, WatchEvent } from '../runtime/runtime.js';
import { checkCmd, ptyFromWire } from './command-fields.js';
import { rfc3339 } from './wire.js';

/** Longest timeout of a background process: 30 days (the agent counts it in u32 milliseconds, 49 days). */
export const MAX_PROCESS_TIMEOUT_SECONDS = 30 * 24 * 3600;

export function processToWire(info: ProcessInfo): WireProcessInfo {
  const wire: WireProcessInfo = {
    id: info.id,
    pid: info.pid,
    cmd: info.cmd,
    pty: info.pty,
    stdin: info.stdin,
    started_at: rfc3339(info.startedAt),
    running: info.running,
    timed_out: info.timedOut,
    output_dropped: { stdout: info.outputDropped.stdout, stderr: info.outputDropped.stderr },
  };
  if (info.tag !== undefined) wire.tag = info.tag;
  if (info.exitCode !== undefined) wire.exit_code = info.exitCode;
  if (info.endedAt !== undefined) wire.ended_at = rfc3339(info.endedAt);
  return wire;
}

type StartBody = Omit<z.output<typeof StartProcessRequest>, 'cmd'> & { cmd?: unknown };

/** A parsed start body as runtime options; `timeout` <= 0 means none, as for exec. */
export function startOptionsFromWire(body: StartBody): ProcessStartOptions {
  const options: ProcessStartOptions = { cmd: checkCmd(body.cmd) };
  if (body.env !== undefined) options.env = body.env;
  if (body.workdir !== undefined && body.workdir !== '')
    options.workdir = sandboxPathString(body.workdir, 'workdir');
  if (body.user !== undefined && body.user !== '') options.user = body.user;
  if (body.tag !== undefined && body.tag !== '') {
    if (body.tag.length > MAX_TAG_LENGTH || body.tag.includes('\0')) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `tag: at most ${MAX_TAG_LENGTH} characters, without NUL (got ${body.tag.length})`,
        { field: 'tag' },
      );
    }
    options.tag = body.tag;
  }
  if (body.stdin === true) options.stdin = true;
  if (body.timeout !== undefined && body.timeout > 0) {
    if (body.timeout > MAX_PROCESS_TIMEOUT_SECONDS) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `timeout: at most ${MAX_PROCESS_TIMEOUT_SECONDS} seconds (30 days) for a background process, got ${body.timeout}`,
        { field: 'timeout', limit: MAX_PROCESS_TIMEOUT_SECONDS },
      );
    }
    options.timeoutMs = body.timeout * 1000;
  }
  if (body.pty !== undefined) options.pty = ptyFromWire(body.pty);
  return options;
}

/** A process id from a path; anything that cannot be one is 404 PROCESS_NOT_FOUND. */
export function processIdFromWire(value: string): string {
  return checkProcessId(value);
}

/** Most seconds one wait holds a request; longer waits are a loop of these. */
export const MAX_WAIT_SECONDS = 3600;
export const DEFAULT_WAIT_SECONDS = 30;

/** The wait deadline in ms from `?timeout=` or the body's `timeout` (seconds; the query wins). */
export function waitTimeoutMs(query: string | undefined, body: number | undefined): number {
  let seconds: number = DEFAULT_WAIT_SECONDS;
  if (query !== undefined && query !== '') {
    seconds = Number(query);
    if (!/^\d+(\.\d+)?$/.test(query.trim())) seconds = Number.NaN;
  } else if (body !== undefined) {
    seconds = body;
  }
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_WAIT_SECONDS) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `timeout: a number of seconds from 0 to ${MAX_WAIT_SECONDS}, e.g. ?timeout=10 (got ${JSON.stringify(query ?? body)})`,
      { field: 'timeout' },
    );
  }
  return Math.round(seconds * 1000);
}

/** Input bytes from `data` (text) or `data_base64`; exactly one, or neither when only closing stdin. */
export function inputFromWire(body: { data?: string | undefined; data_base64?: string | undefined }): Buffer {
  if (body.data !== undefined && body.data_base64 !== undefined) {
    throw new BurrowError('VALIDATION_FAILED', 'give data (text) or data_base64 (bytes), not both', {
      field: 'data',
    });
  }
  if (body.data_base64 !== undefined) {
    const text = body.data_base64.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
      throw new BurrowError('VALIDATION_FAILED', 'data_base64 is not valid base64', {
        field: 'data_base64',
      });
    }
    return Buffer.from(text, 'base64');
  }
  return Buffer.from(body.data ?? '', 'utf8');
}

/** A watch event for a client: the path as text, and as base64 too when it is not UTF-8. */
export function watchEventToWire(event: WatchEvent): WatchServerMessage {
  if (event.type === 'overflow') return { type: 'overflow' };
  const text = event.path.toString('utf8');
  const message: WatchServerMessage = {
    type: 'event',
    kind: event.kind,
    path: text,
    is_dir: event.isDir,
  };
  if (!Buffer.from(text, 'utf8').equals(event.path)) message.path_base64 = event.path.toString('base64');
  return message;
}
