/** Checks of the options shared by exec and background processes (terminal size, user, tag). */
import { randomBytes } from 'node:crypto';
import { BurrowError } from '@burrow/protocol';
import type { ProcessStartOptions } from './runtime.js';
import { checkExecOptions, checkPtySize, checkUser } from './exec-support.js';

export const MAX_TAG_LENGTH = 256;
/** Largest terminal side, in cells (the API checks requests against it at the edge). */
export { MAX_PTY_CELLS } from './exec-support.js';
const MAX_BUFFER_BYTES = 64 * 1024 * 1024;

export function checkProcessOptions(options: ProcessStartOptions): void {
  checkExecOptions({ cmd: options.cmd, ...(options.env === undefined ? {} : { env: options.env }) });
  if (options.pty !== undefined) checkPtySize(options.pty);
  checkUser(options.user);
  if (options.tag !== undefined && (options.tag.length > MAX_TAG_LENGTH || options.tag.includes('\0'))) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `tag must be at most ${MAX_TAG_LENGTH} characters, without NUL`,
    );
  }
  if (options.timeoutMs !== undefined && (!Number.isFinite(options.timeoutMs) || options.timeoutMs < 0)) {
    throw new BurrowError('VALIDATION_FAILED', 'timeout must be a non-negative number');
  }
  const buffer = options.bufferBytes;
  if (buffer !== undefined && (!Number.isInteger(buffer) || buffer < 1024 || buffer > MAX_BUFFER_BYTES)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `the output buffer must be from 1 KiB to ${MAX_BUFFER_BYTES / 1024 / 1024} MiB`,
    );
  }
}

/** Process ids are Burrow's (`proc_` and hex); anything else cannot name a process. */
export function checkProcessId(processId: string): string {
  if (!/^proc_[0-9a-f]{1,32}$/.test(processId)) {
    throw new BurrowError(
      'PROCESS_NOT_FOUND',
      `no process ${JSON.stringify(processId.slice(0, 64))}: ids look like proc_0a1b2c...`,
    );
  }
  return processId;
}

export function newProcessId(): string {
  return `proc_${randomBytes(8).toString('hex')}`;
}
