/** `sandbox.commands`: run a command to completion, or stream it. */
import type { ExecRequest, ExecResponse } from '@burrow/protocol';
import { CommandStream, type StreamCommandOptions } from './command-stream.js';
import type { HttpClient } from './http.js';
import type { CommandResult, PtySize } from './types.js';

/**
 * Longest command timeout the server accepts, in seconds (24 h); a longer one is refused with a ValidationError.
 * The protocol's value, copied: the SDK imports only types from the protocol, so no schema library (and its eval
 * probe, which a page's CSP reports) reaches a browser bundle. A test keeps the two equal.
 */
export const MAX_EXEC_TIMEOUT_SECONDS = 86_400;

/** Options of `sandbox.commands.run()`. */
export interface RunCommandOptions {
  env?: Record<string, string>;
  /** Working directory of the command. */
  cwd?: string;
  /** The server kills the command after this long (rounded up to whole seconds); the result has `timedOut`. */
  timeoutMs?: number;
  /** Text fed to the command's stdin (then closed). */
  stdin?: string | Uint8Array;
  /** Called with each stdout chunk as it arrives (the command then runs over the streaming WebSocket). */
  onStdout?: (data: string) => void;
  /** Called with each stderr chunk as it arrives. */
  onStderr?: (data: string) => void;
  /** Aborting kills the command (the server ends it when the request goes away) and rejects with `AbortedError`. */
  signal?: AbortSignal;
  /** Run on a terminal of this size: stderr then arrives merged into stdout (with `\r\n` line ends). */
  pty?: PtySize;
}

function argv(cmd: string[] | string): string[] {
  return typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
}

/**
 * Runs commands in one sandbox. A command is an argv array, or a string run with `sh -c`.
 *
 * @example
 * const { exitCode, stdout } = await sandbox.commands.run(['python3', '-c', 'print(6 * 7)']);
 * const piped = await sandbox.commands.run('ls / | wc -l');
 */
export class Commands {
  readonly #http: HttpClient;
  readonly #sandboxId: string;

  /** @internal */
  constructor(http: HttpClient, sandboxId: string) {
    this.#http = http;
    this.#sandboxId = sandboxId;
  }

  /**
   * Runs a command to completion. A non-zero exit code is a result, not an error. The server keeps at most its
   * `exec.max_output_bytes` (16 MiB by default) of stdout and of stderr; `truncated` says when it cut them. With
   * `onStdout` or `onStderr` the output streams as it is produced, all of it.
   *
   * @example
   * const result = await sandbox.commands.run('make test', { cwd: '/home/sandbox/app', timeoutMs: 60_000,
   *   onStdout: (chunk) => process.stdout.write(chunk) });
   * if (result.exitCode !== 0) console.error(result.stderr);
   */
  async run(cmd: string[] | string, options: RunCommandOptions = {}): Promise<CommandResult> {
    if (options.onStdout !== undefined || options.onStderr !== undefined)
      return this.#runStreamed(cmd, options);
    const request: ExecRequest = { cmd: argv(cmd) };
    if (options.env !== undefined) request.env = options.env;
    if (options.cwd !== undefined) request.workdir = options.cwd;
    if (options.timeoutMs !== undefined && options.timeoutMs > 0)
      request.timeout = Math.ceil(options.timeoutMs / 1000);
    if (options.pty !== undefined) request.pty = { cols: options.pty.cols, rows: options.pty.rows };
    if (options.stdin !== undefined) {
      request.stdin =
        typeof options.stdin === 'string' ? options.stdin : new TextDecoder().decode(options.stdin);
    }
    // The server answers when the command ends: wait for its own timeout plus the usual margin, or indefinitely.
    const timeoutMs =
      request.timeout === undefined || request.timeout === null
        ? 0
        : request.timeout * 1000 + this.#http.timeoutMs;
    const response = await this.#http.json<ExecResponse>(
      'POST',
      `/api/v1/sandboxes/${encodeURIComponent(this.#sandboxId)}/exec`,
      {
        json: request,
        timeoutMs: this.#http.timeoutMs === 0 ? 0 : timeoutMs,
        signal: options.signal,
      },
    );
    return {
      exitCode: response.exit_code,
      stdout: response.stdout,
      stderr: response.stderr,
      timedOut: response.timed_out === true,
      truncated: response.truncated === true,
    };
  }

  /**
   * Starts a command and streams its events; see {@link CommandStream}.
   *
   * @example
   * const proc = await sandbox.commands.stream(['python3', '-i'], { stdin: true });
   * proc.stdin.write('print(1 + 1)\n');
   * proc.stdin.end();
   * const { stdout } = await proc.wait(); // "2\n"
   */
  stream(cmd: string[] | string, options: StreamCommandOptions = {}): Promise<CommandStream> {
    return CommandStream.open(this.#http, this.#sandboxId, cmd, options);
  }

  async #runStreamed(cmd: string[] | string, options: RunCommandOptions): Promise<CommandResult> {
    const streamOptions: StreamCommandOptions = {};
    if (options.env !== undefined) streamOptions.env = options.env;
    if (options.cwd !== undefined) streamOptions.cwd = options.cwd;
    if (options.timeoutMs !== undefined) streamOptions.timeoutMs = options.timeoutMs;
    if (options.stdin !== undefined) streamOptions.stdin = options.stdin;
    if (options.signal !== undefined) streamOptions.signal = options.signal;
    if (options.pty !== undefined) streamOptions.pty = options.pty;
    const stream = await this.stream(cmd, streamOptions);
    for await (const event of stream) {
      if (event.type === 'stdout') options.onStdout?.(event.data);
      else if (event.type === 'stderr') options.onStderr?.(event.data);
    }
    return stream.wait();
  }
}
