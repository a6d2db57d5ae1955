/** Helpers every backend uses to present a running process as an ExecStream and to collect an ExecResult. */
import { BurrowError, MAX_EXEC_TIMEOUT_SECONDS } from '@burrow/protocol';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  TIMEOUT_EXIT_CODE,
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
 * How long past its timeout a process may take to report its exit before the server gives up on it. The backend
 * (the agent, or the Engine API path's killer) normally reports 124 within milliseconds; this margin only decides
 * when a backend that never answers (a hostile agent ignores the timeout) stops holding a request.
 */
export const EXEC_TIMEOUT_GRACE_MS = 5_000;

export interface ExecStreamSupport {
  /** Overrides {@link EXEC_TIMEOUT_GRACE_MS}. */
  graceMs?: number;
}

type StopReason = 'aborted' | 'closed' | 'deadline';

/**
 * Wraps a process handle: feeds `options.stdin` when given, kills the process when `options.signal` aborts, and
 * guarantees that iteration ends with exactly one `exit` event or an error. The timeout is enforced here too, on the
 * server's clock: past `timeoutMs` plus a grace period the handle is destroyed and the stream ends with exit 124,
 * `timedOut`, whatever the backend (or the code inside the sandbox that speaks for it) does. No wait on the handle
 * outlives an abort, a close or that deadline.
 */
export function execStreamFrom(
  handle: ProcessHandle,
  options: ExecOptions,
  support: ExecStreamSupport = {},
): ExecStream {
  const signal = options.signal;
  let finished = false;
  let stopReason: StopReason | undefined;
  /** Wakes the read in progress, if any, when the stream is stopped. */
  let wake: (() => void) | undefined;
  const stop = (reason: StopReason) => {
    if (stopReason !== undefined) return;
    stopReason = reason;
    handle.destroy();
    wake?.();
  };
  const onAbort = () => stop('aborted');
  signal?.addEventListener('abort', onAbort, { once: true });
  const timeoutMs = options.timeoutMs ?? 0;
  const deadline =
    timeoutMs > 0
      ? setTimeout(() => stop('deadline'), timeoutMs + (support.graceMs ?? EXEC_TIMEOUT_GRACE_MS))
      : undefined;

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
    const source = handle.events[Symbol.asyncIterator]();
    try {
      for (;;) {
        // Each read races the stop on a promise of its own: racing one long-lived promise every time would add a
        // reaction to it per event, each holding that event's data, until the stream ended.
        const next =
          stopReason !== undefined
            ? 'stop'
            : await new Promise<IteratorResult<ExecEvent> | 'stop'>((resolve, reject) => {
                wake = () => resolve('stop');
                // A read that loses may still reject later (its channel destroyed): reject is then a no-op.
                source.next().then(resolve, reject);
              });
        wake = undefined;
        if (next === 'stop') {
          if (stopReason === 'aborted' && signal !== undefined) throw abortError(signal);
          if (stopReason === 'closed') return;
          finished = true;
          yield { type: 'exit', exitCode: TIMEOUT_EXIT_CODE, timedOut: true };
          return;
        }
        if (next.done === true) break;
        const event = next.value;
        if (signal?.aborted === true) throw abortError(signal);
        // Set before yielding: a consumer that stops at the exit event must not have the process destroyed.
        if (event.type === 'exit') finished = true;
        yield event;
        if (finished) return;
      }
      if (signal?.aborted === true) throw abortError(signal);
      throw new BurrowError('INTERNAL', 'the process stream ended without an exit status');
    } catch (error) {
      if (signal?.aborted === true) throw abortError(signal);
      throw error;
    } finally {
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      if (!finished) handle.destroy();
      // Not awaited: a source that never answers must not hold this stream's end.
      source.return?.(undefined)?.catch(() => undefined);
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
      stop('closed');
      await iterator.return(undefined);
    },
  };
}

const EMPTY = Buffer.alloc(0);

/** The first `limit` bytes of a stream of chunks; whatever comes after is counted, not kept. */
class BoundedOutput {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  /** `keep` false: only counts, for output handed on as it comes. */
  constructor(
    private readonly limit: number,
    private readonly keep = true,
  ) {}

  /** Takes what fits under the limit and returns it (empty once full). */
  add(data: Buffer): Buffer {
    const room = this.limit - this.kept;
    if (data.length > room) this.truncated = true;
    if (room <= 0) return EMPTY;
    const part = data.length > room ? data.subarray(0, room) : data;
    if (this.keep) this.chunks.push(part);
    this.kept += part.length;
    return part;
  }

  bytes(): Buffer {
    return this.keep ? Buffer.concat(this.chunks, this.kept) : EMPTY;
  }
}

/**
 * Runs a stream to its end, keeping stdout and stderr apart, at most `maxOutputBytes` of each (whatever a sandbox
 * prints, the server's memory stays bounded). Past the limit the output is still read and discarded rather than the
 * process ended: it runs to its own end (or its timeout) with its real exit code, and is never blocked on a full
 * pipe. The result then says `truncated`; the WebSocket stream is the way to get everything. With `stdoutSink`,
 * stdout is handed on as it comes (under the same limit) instead of kept.
 */
export async function collectExec(
  stream: ExecStream,
  options: Pick<ExecOptions, 'maxOutputBytes' | 'stdoutSink'> = {},
): Promise<ExecResult> {
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const sink = options.stdoutSink;
  const stdout = new BoundedOutput(limit, sink === undefined);
  const stderr = new BoundedOutput(limit);
  for await (const event of stream) {
    if (event.type === 'stdout') {
      const kept = stdout.add(event.data);
      if (sink !== undefined && kept.length > 0) await sink(kept);
    } else if (event.type === 'stderr') stderr.add(event.data);
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
