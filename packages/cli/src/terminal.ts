/**
 * This terminal joined to a remote one: raw mode (every key, Ctrl-C included, goes to the remote program, whose
 * own terminal does the line editing and signals), remote output written as it comes, window resizes followed,
 * and the terminal restored however it ends (exit, error, a signal to the CLI, the process exiting).
 */
import type { CommandStream, ProcessAttachment, PtySize } from '@burrow/sdk';
import { writeOut } from './output.js';

/** What runs on the other side: an exec stream or an attached process on a terminal. */
export interface RemoteTerminal {
  /** Output bytes, then one exit; the iteration ends with the remote program. */
  events: AsyncIterable<{ type: 'data'; data: Uint8Array } | { type: 'exit'; exitCode: number }>;
  write(data: Uint8Array): void;
  resize(size: PtySize): void;
  /** Stops receiving (and, for an exec, ends the program). */
  close(): void;
}

/** The local side: a TTY's input and output (tests pass stand-ins). */
export interface LocalTerminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  output: NodeJS.WritableStream & { columns?: number; rows?: number };
  /** Where signals to the CLI are watched (default: `process`). */
  signals?: Pick<NodeJS.Process, 'on' | 'off'>;
}

export interface TerminalOptions {
  /** A key byte that leaves the remote program running and returns (Ctrl-] is 0x1d); none by default. */
  detachKey?: number;
}

export type TerminalOutcome = { exitCode: number; detached: false } | { detached: true };

const DEFAULT_SIZE: PtySize = { cols: 80, rows: 24 };

/** The local terminal's size, or 80 × 24 when it has none. */
export function terminalSize(output: { columns?: number; rows?: number }): PtySize {
  const cols = output.columns;
  const rows = output.rows;
  if (cols === undefined || rows === undefined || cols < 1 || rows < 1) return DEFAULT_SIZE;
  return { cols: Math.min(cols, 1000), rows: Math.min(rows, 1000) };
}

const EXIT_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
const SIGNAL_NUMBERS: Record<(typeof EXIT_SIGNALS)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export async function joinTerminal(
  remote: RemoteTerminal,
  local: LocalTerminal,
  options: TerminalOptions = {},
): Promise<TerminalOutcome> {
  const { input, output } = local;
  const signals = local.signals ?? process;
  const raw = input.isTTY === true && typeof input.setRawMode === 'function';
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    if (raw) input.setRawMode?.(false);
  };
  let detached = false;
  let signalled: number | undefined;

  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const at = options.detachKey === undefined ? -1 : bytes.indexOf(options.detachKey);
    if (at >= 0) {
      if (at > 0) remote.write(bytes.subarray(0, at));
      detached = true;
      remote.close();
      return;
    }
    remote.write(bytes);
  };
  const onResize = () => remote.resize(terminalSize(output));
  const onSignal = (name: (typeof EXIT_SIGNALS)[number]) => {
    signalled = 128 + SIGNAL_NUMBERS[name];
    remote.close();
  };
  const handlers = EXIT_SIGNALS.map((name) => [name, () => onSignal(name)] as const);

  if (raw) input.setRawMode?.(true);
  // Whatever ends this process, the terminal is not left raw.
  process.once('exit', restore);
  input.on('data', onData);
  input.resume();
  output.on('resize', onResize);
  for (const [name, handler] of handlers) signals.on(name, handler);
  try {
    let exitCode: number | undefined;
    try {
      for await (const event of remote.events) {
        if (event.type === 'data') await writeOut(output as NodeJS.WriteStream, event.data);
        else exitCode = event.exitCode;
      }
    } catch (error) {
      if (!detached && signalled === undefined) throw error;
    }
    if (detached) return { detached: true };
    if (signalled !== undefined) return { exitCode: signalled, detached: false };
    if (exitCode === undefined) throw new Error('the remote terminal ended without an exit status');
    return { exitCode, detached: false };
  } finally {
    input.off('data', onData);
    input.pause();
    output.off('resize', onResize);
    for (const [name, handler] of handlers) signals.off(name, handler);
    process.off('exit', restore);
    restore();
  }
}

/** An exec stream opened with `pty` (and stdin) as a remote terminal. */
export function execTerminal(stream: CommandStream): RemoteTerminal {
  async function* events(): AsyncGenerator<
    { type: 'data'; data: Uint8Array } | { type: 'exit'; exitCode: number }
  > {
    for await (const event of stream) {
      if (event.type === 'stdout')
        yield { type: 'data', data: event.bytes ?? new TextEncoder().encode(event.data) };
      else if (event.type === 'stderr') yield { type: 'data', data: new TextEncoder().encode(event.data) };
      else yield { type: 'exit', exitCode: event.exitCode };
    }
  }
  return {
    events: events(),
    write: (data) => stream.stdin.write(data),
    resize: (size) => stream.resize(size),
    close: () => stream.close(),
  };
}

/** An attached background process as a remote terminal (closing detaches; the process runs on). */
export function attachedTerminal(attachment: ProcessAttachment): RemoteTerminal {
  async function* events(): AsyncGenerator<
    { type: 'data'; data: Uint8Array } | { type: 'exit'; exitCode: number }
  > {
    for await (const event of attachment) {
      if (event.type === 'pty') yield { type: 'data', data: event.data };
      else if (event.type === 'stdout' || event.type === 'stderr')
        yield { type: 'data', data: new TextEncoder().encode(event.data) };
      else if (event.type === 'exit') yield { type: 'exit', exitCode: event.exitCode };
    }
  }
  return {
    events: events(),
    write: (data) => attachment.write(data),
    resize: (size) => attachment.resize(size),
    close: () => attachment.close(),
  };
}
