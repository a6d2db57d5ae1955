/** Background processes and watch events: wire (snake_case) ↔ SDK (camelCase). */
import type {
  ProcessInfo as WireProcessInfo,
  ProcessOutput as WireProcessOutput,
  StartProcessRequest,
  WatchServerMessage,
} from '@burrow/protocol';
import { fromBase64 } from './bytes.js';
import type { ProcessInfo, ProcessOutput, PtySize, WatchEvent } from './types.js';

/** Options of `sandbox.processes.start()`. */
export interface StartProcessOptions {
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** `name`, `uid`, `name:group` or `uid:gid`; the image's user by default. */
  user?: string;
  /** Your name for the process, e.g. `dev-server`. */
  tag?: string;
  /** Keep stdin open for `sendInput()` (or an attachment's `write()`); otherwise it reads an empty stdin. */
  stdin?: boolean;
  /** The server kills the process (and its children) after this long, rounded up to whole seconds. */
  timeoutMs?: number;
  /** Run it on a terminal of this size (stdout and stderr merged). */
  pty?: PtySize;
}

export function startRequestToWire(cmd: string[], options: StartProcessOptions): StartProcessRequest {
  const wire: StartProcessRequest = { cmd };
  if (options.env !== undefined) wire.env = options.env;
  if (options.cwd !== undefined) wire.workdir = options.cwd;
  if (options.user !== undefined) wire.user = options.user;
  if (options.tag !== undefined) wire.tag = options.tag;
  if (options.stdin === true) wire.stdin = true;
  if (options.timeoutMs !== undefined && options.timeoutMs > 0)
    wire.timeout = Math.ceil(options.timeoutMs / 1000);
  if (options.pty !== undefined) wire.pty = { cols: options.pty.cols, rows: options.pty.rows };
  return wire;
}

export function processFromWire(wire: WireProcessInfo): ProcessInfo {
  const info: ProcessInfo = {
    id: wire.id,
    pid: wire.pid,
    cmd: wire.cmd,
    pty: wire.pty,
    stdin: wire.stdin,
    startedAt: new Date(wire.started_at),
    running: wire.running,
    timedOut: wire.timed_out,
    outputDropped: { stdout: wire.output_dropped.stdout, stderr: wire.output_dropped.stderr },
  };
  if (wire.tag !== undefined) info.tag = wire.tag;
  if (wire.exit_code !== undefined) info.exitCode = wire.exit_code;
  if (wire.ended_at !== undefined) info.endedAt = new Date(wire.ended_at);
  return info;
}

export function outputFromWire(wire: WireProcessOutput): ProcessOutput {
  return {
    process: processFromWire(wire.process),
    stdout: wire.stdout,
    stderr: wire.stderr,
    stdoutTruncated: wire.stdout_truncated,
    stderrTruncated: wire.stderr_truncated,
  };
}

/** A watch message as an event; undefined for messages that are not events. */
export function watchEventFromWire(message: WatchServerMessage): WatchEvent | undefined {
  if (message.type === 'overflow') return { type: 'overflow' };
  if (message.type !== 'event') return undefined;
  const event: WatchEvent = { type: 'event', kind: message.kind, path: message.path, isDir: message.is_dir };
  if (message.path_base64 !== undefined) event.pathBytes = fromBase64(message.path_base64);
  return event;
}
