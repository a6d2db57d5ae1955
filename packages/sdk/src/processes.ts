/**
 * `sandbox.processes`: background processes. A process belongs to its sandbox, not to this client: it keeps
 * running when the call returns and when the client goes away, until it exits, is killed or the sandbox stops.
 */
import type { ProcessInfo as WireProcessInfo, ProcessOutput as WireProcessOutput } from '@burrow/protocol';
import { toBase64 } from './bytes.js';
import { AbortedError } from './client-errors.js';
import type { HttpClient } from './http.js';
import { ProcessAttachment, type AttachOptions } from './process-attachment.js';
import {
  outputFromWire,
  processFromWire,
  startRequestToWire,
  type StartProcessOptions,
} from './process-convert.js';
import type { ProcessInfo, ProcessOutput, PtySize } from './types.js';

/** Longest single wait the server holds a request for; longer waits are several requests. */
const MAX_WAIT_SECONDS = 3600;

/** Options of `sandbox.processes.wait()`. */
export interface WaitOptions {
  /** Give up after this long and return the process still running; without it, wait for the exit. */
  timeoutMs?: number;
  /** Aborting stops waiting (not the process) and rejects with `AbortedError`. */
  signal?: AbortSignal;
}

function argv(cmd: string[] | string): string[] {
  return typeof cmd === 'string' ? ['sh', '-c', cmd] : cmd;
}

/**
 * The background processes of one sandbox.
 *
 * @example
 * const server = await sandbox.processes.start('python3 -m http.server 8000', { tag: 'web' });
 * // ... later, from any client:
 * const { stdout, stderr } = await sandbox.processes.output(server.id);
 * await sandbox.processes.kill(server.id);
 */
export class Processes {
  readonly #http: HttpClient;
  readonly #sandboxId: string;

  /** @internal */
  constructor(http: HttpClient, sandboxId: string) {
    this.#http = http;
    this.#sandboxId = sandboxId;
  }

  get #base(): string {
    return `/api/v1/sandboxes/${encodeURIComponent(this.#sandboxId)}/processes`;
  }

  #path(processId: string, action = ''): string {
    return `${this.#base}/${encodeURIComponent(processId)}${action === '' ? '' : `/${action}`}`;
  }

  /**
   * Starts a command in the background (an argv array, or a string run with `sh -c`); resolves once it runs.
   *
   * @example
   * const proc = await sandbox.processes.start(['node', 'server.js'], { tag: 'api', cwd: '/home/sandbox/app' });
   */
  async start(cmd: string[] | string, options: StartProcessOptions = {}): Promise<ProcessInfo> {
    const wire = await this.#http.json<WireProcessInfo>('POST', this.#base, {
      json: startRequestToWire(argv(cmd), options),
    });
    return processFromWire(wire);
  }

  /**
   * The sandbox's processes: running ones and recently exited ones (the last 64).
   *
   * @example
   * const running = (await sandbox.processes.list()).filter((proc) => proc.running);
   */
  async list(): Promise<ProcessInfo[]> {
    return (await this.#http.json<WireProcessInfo[]>('GET', this.#base)).map(processFromWire);
  }

  /**
   * One process.
   *
   * @example
   * const { running, exitCode } = await sandbox.processes.get(id);
   */
  async get(processId: string): Promise<ProcessInfo> {
    return processFromWire(await this.#http.json<WireProcessInfo>('GET', this.#path(processId)));
  }

  /**
   * Waits for the process to exit, or until `timeoutMs` passed (then the result still says `running: true`).
   *
   * @example
   * const done = await sandbox.processes.wait(id, { timeoutMs: 60_000 });
   * if (!done.running) console.log('exit code', done.exitCode);
   */
  async wait(processId: string, options: WaitOptions = {}): Promise<ProcessInfo> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const seconds = Math.max(0, Math.min(MAX_WAIT_SECONDS, (deadline - Date.now()) / 1000));
      const wire = await this.#http.json<WireProcessInfo>('POST', this.#path(processId, 'wait'), {
        query: { timeout: String(Math.round(seconds * 1000) / 1000) },
        signal: options.signal,
        // The server answers within `seconds`; the usual margin on top.
        timeoutMs: this.#http.timeoutMs === 0 ? 0 : seconds * 1000 + this.#http.timeoutMs,
      });
      const info = processFromWire(wire);
      if (!info.running || Date.now() >= deadline) return info;
      if (options.signal?.aborted === true) throw new AbortedError();
    }
  }

  /**
   * Writes to the process's stdin (it must have been started with `stdin: true`); `eof` closes it afterwards.
   *
   * @example
   * await sandbox.processes.sendInput(id, 'print(6 * 7)\n');
   * await sandbox.processes.sendInput(id, '', { eof: true });
   */
  async sendInput(
    processId: string,
    data: string | Uint8Array,
    options: { eof?: boolean } = {},
  ): Promise<void> {
    const body: Record<string, unknown> =
      typeof data === 'string' ? { data } : { data_base64: toBase64(data) };
    if (options.eof === true) body.eof = true;
    await this.#http.send('POST', this.#path(processId, 'input'), { json: body });
  }

  /**
   * Sends a signal (`SIGINT`, `SIGTERM`, `SIGHUP`, ...) to the process's group.
   *
   * @example
   * await sandbox.processes.signal(id, 'SIGINT');
   */
  async signal(processId: string, signal: string): Promise<void> {
    await this.#http.send('POST', this.#path(processId, 'signal'), { json: { signal } });
  }

  /**
   * Kills the process and everything it started; resolves with the exited process.
   *
   * @example
   * const { exitCode } = await sandbox.processes.kill(id); // 137
   */
  async kill(processId: string): Promise<ProcessInfo> {
    return processFromWire(await this.#http.json<WireProcessInfo>('POST', this.#path(processId, 'kill')));
  }

  /**
   * Resizes the terminal of a process started with `pty`.
   *
   * @example
   * await sandbox.processes.resize(id, { cols: 120, rows: 40 });
   */
  async resize(processId: string, size: PtySize): Promise<void> {
    await this.#http.send('POST', this.#path(processId, 'resize'), {
      json: { cols: size.cols, rows: size.rows },
    });
  }

  /**
   * What the process's output buffer holds now (the last `maxBytes` of each stream, default 1 MiB); the
   * `*Truncated` flags say when earlier output is missing.
   *
   * @example
   * const { stdout, stdoutTruncated } = await sandbox.processes.output(id, { maxBytes: 4096 });
   */
  async output(processId: string, options: { maxBytes?: number } = {}): Promise<ProcessOutput> {
    const query = options.maxBytes === undefined ? {} : { max_bytes: String(options.maxBytes) };
    return outputFromWire(
      await this.#http.json<WireProcessOutput>('GET', this.#path(processId, 'output'), { query }),
    );
  }

  /**
   * Attaches to the process's output (and input) over a WebSocket; see {@link ProcessAttachment}.
   *
   * @example
   * const reader = await sandbox.processes.attach(id, { replay: true });
   * for await (const event of reader) if (event.type === 'stdout') process.stdout.write(event.data);
   */
  attach(processId: string, options: AttachOptions = {}): Promise<ProcessAttachment> {
    return ProcessAttachment.open(this.#http, this.#sandboxId, processId, options);
  }
}
