/** Helpers every backend uses to present a running process as an ExecStream and to collect an ExecResult. */
import { BurrowError, MAX_EXEC_TIMEOUT_SECONDS } from '@burrow/protocol';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  type ExecEvent,
  type ExecInput,
  type ExecOptions,
  type ExecResult,
  type ExecStdin,
  type ExecStream,
  type PtySize,
} from './runtime.js';

export const MAX_PTY_CELLS = 1000;

export function checkPtySize(size: PtySize, field = 'pty'): void {
  for (const key of ['cols', 'rows'] as const) {
    const value = size[key];
    if (!Number.isInteger(value) || value < 1 || value > MAX_PTY_CELLS) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `${field}.${key} must be a whole number from 1 to ${MAX_PTY_CELLS}, got ${String(value)}`,
      );
    }
  }
}

export function checkUser(user: string | undefined): void {
  if (user === undefined) return;
  if (user.length === 0 || user.length > 256 || user.includes('\0') || /\s/.test(user)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      'user must be a name or uid, optionally with ":group" (e.g. "sandbox", "1000:1000"), at most 256 characters',
    );
  }
}

export function checkExecOptions(options: ExecOptions): void {
  if (!Array.isArray(options.cmd) || options.cmd.length === 0 || options.cmd[0] === '') {
    throw new BurrowError(
      'VALIDATION_FAILED',
      'cmd is required: give the command as an argv array, e.g. ["ls", "-la"]',
    );
  }
  for (const arg of options.cmd) {
    if (typeof arg !== 'string')
      throw new BurrowError('VALIDATION_FAILED', 'cmd must be an array of strings');
    if (arg.includes('\0'))
      throw new BurrowError('VALIDATION_FAILED', 'cmd arguments may not contain NUL bytes');
  }
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `env: "${key}" is not a valid variable name (no "=", no NUL, not empty)`,
      );
    }
  }
  if (options.timeoutMs !== undefined && (!Number.isFinite(options.timeoutMs) || options.timeoutMs < 0)) {
    throw new BurrowError('VALIDATION_FAILED', 'timeout must be a non-negative number');
  }
  if (options.pty !== undefined) checkPtySize(options.pty);
  checkUser(options.user);
  // The agent keeps the timeout as a u32 of milliseconds and Node's timers fire at once above 2^31-1 ms: a longer
  // timeout would silently become a short one, so it is refused here, below every edge that already checks it.
  if (options.timeoutMs !== undefined && options.timeoutMs > MAX_EXEC_TIMEOUT_SECONDS * 1000) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `timeout: at most ${MAX_EXEC_TIMEOUT_SECONDS} seconds (24 h) for a command`,
      { field: 'timeout', limit: MAX_EXEC_TIMEOUT_SECONDS },
    );
  }
}

export function envList(env: Record<string, string> = {}): string[] {
  return Object.entries(env).map(([key, value]) => `${key}=${value}`);
}

export async function* inputChunks(input: ExecInput): AsyncGenerator<Uint8Array> {
  if (typeof input === 'string') yield Buffer.from(input, 'utf8');
  else if (input instanceof Uint8Array) yield input;
  else yield* input;
}

/** A started process, as a backend provides it. */
export interface ProcessHandle {
  events: AsyncIterable<ExecEvent>;
  stdin: ExecStdin;
  kill(signal: string): Promise<void>;
  /** Resizes the process's terminal; absent when the process has none. */
  resize?(size: PtySize): Promise<void>;
  /** Ends the process (if running) and releases the connection. */
  destroy(): void;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/**
 * Wraps a process handle: feeds `options.stdin` when given, kills the process when `options.signal` aborts, and
 * guarantees that iteration ends with exactly one `exit` event or an error.
 */
export function execStreamFrom(handle: ProcessHandle, options: ExecOptions): ExecStream {
  const signal = options.signal;
  let finished = false;
  const onAbort = () => handle.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });

  if (options.stdin !== undefined) {
    const input = options.stdin;
    void (async () => {
      try {
        for await (const chunk of inputChunks(input)) await handle.stdin.write(chunk);
        await handle.stdin.end();
      } catch {
        // The process ended before reading all of its input; its exit event tells the rest.
      }
    })();
  }

  async function* events(): AsyncGenerator<ExecEvent> {
    try {
      for await (const event of handle.events) {
        if (signal?.aborted === true) throw abortError(signal);
        yield event;
        if (event.type === 'exit') {
          finished = true;
          return;
        }
      }
      if (signal?.aborted === true) throw abortError(signal);
      throw new BurrowError('INTERNAL', 'the process stream ended without an exit status');
    } catch (error) {
      if (signal?.aborted === true) throw abortError(signal);
      throw error;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!finished) handle.destroy();
    }
  }
  const iterator = events();
  return {
    [Symbol.asyncIterator]: () => iterator,
    stdin: handle.stdin,
    kill: (name = 'SIGTERM') => handle.kill(name),
    resize: async (size) => {
      checkPtySize(size);
      if (handle.resize === undefined) {
        throw new BurrowError('CONFLICT', 'the process has no terminal: start it with pty to resize it');
      }
      await handle.resize(size);
    },
    close: async () => {
      handle.destroy();
      await iterator.return(undefined);
    },
  };
}

/** The first `limit` bytes of a stream of chunks; whatever comes after is counted, not kept. */
class BoundedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  add(data: Buffer): void {
    const room = this.limit - this.kept;
    if (data.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = data.length > room ? data.subarray(0, room) : data;
    this.chunks.push(part);
    this.kept += part.length;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}

/**
 * Runs a stream to its end, keeping stdout and stderr apart, at most `maxOutputBytes` of each (whatever a sandbox
 * prints, the server's memory stays bounded). Past the limit the output is still read and discarded rather than the
 * process ended: it runs to its own end (or its timeout) with its real exit code, and is never blocked on a full
 * pipe. The result then says `truncated`; the WebSocket stream is the way to get everything.
 */
export async function collectExec(
  stream: ExecStream,
  options: Pick<ExecOptions, 'maxOutputBytes'> = {},
): Promise<ExecResult> {
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const stdout = new BoundedOutput(limit);
  const stderr = new BoundedOutput(limit);
  for await (const event of stream) {
    if (event.type === 'stdout') stdout.add(event.data);
    else if (event.type === 'stderr') stderr.add(event.data);
    else
      return {
        exitCode: event.exitCode,
        timedOut: event.timedOut,
        stdout: stdout.bytes(),
        stderr: stderr.bytes(),
        truncated: stdout.truncated || stderr.truncated,
      };
  }
  throw new BurrowError('INTERNAL', 'the process stream ended without an exit status');
}
