/** The handle of one sandbox: its info, commands, files, snapshots and lifecycle. */
import type { Sandbox as WireSandbox, SandboxStats as WireSandboxStats } from '@burrow/protocol';
import { Commands } from './commands.js';
import { sandboxFromWire, statsFromWire } from './convert.js';
import { SandboxNotFoundError } from './errors.js';
import { Files } from './files.js';
import { Processes } from './processes.js';
import { Pty } from './pty.js';
import type { HttpClient } from './http.js';
import { SandboxNetwork, withToken, type PreviewOptions } from './network.js';
import { SandboxSnapshots } from './snapshots.js';
import type { SandboxInfo, SandboxStats } from './types.js';

/**
 * A sandbox. `await using` destroys it when the scope ends.
 *
 * @example
 * await using sandbox = await burrow.create({ image: 'burrow/default:latest' });
 * const { stdout } = await sandbox.commands.run('uname -a');
 * await sandbox.files.write('/tmp/x.txt', 'hi');
 */
export class Sandbox implements AsyncDisposable {
  /** The sandbox id. */
  readonly id: string;
  /** Run commands. */
  readonly commands: Commands;
  /** Read and write files. */
  readonly files: Files;
  /** Take and list snapshots of this sandbox. */
  readonly snapshots: SandboxSnapshots;
  /** Background processes: start, list, attach, wait, input, signal, kill. */
  readonly processes: Processes;
  /** Interactive terminals. */
  readonly pty: Pty;
  /** Preview URLs, published ports and the egress policy. */
  readonly network: SandboxNetwork;
  readonly #http: HttpClient;
  #info: SandboxInfo;

  /** @internal */
  constructor(http: HttpClient, info: SandboxInfo) {
    this.#http = http;
    this.id = info.id;
    this.#info = info;
    this.commands = new Commands(http, info.id);
    this.files = new Files(http, info.id);
    this.snapshots = new SandboxSnapshots(http, info.id);
    this.processes = new Processes(http, info.id);
    this.pty = new Pty(http, this.processes);
    this.network = new SandboxNetwork(http, info.id);
  }

  /**
   * The host (and port) that serves a sandbox port's preview: `<port>-<id>.<preview domain>:<server port>`.
   *
   * @example
   * const host = await sandbox.getHost(3000); // "3000-<id>.localhost:8080"
   */
  async getHost(port: number): Promise<string> {
    return (await this.network.preview(port)).host;
  }

  /**
   * A URL that opens a sandbox port in a browser or with curl: host-based, with a scoped token when the server needs
   * one (the first visit turns it into a cookie).
   *
   * @example
   * const url = await sandbox.previewUrl(3000);
   * const page = await fetch(url);
   */
  async previewUrl(port: number, options: PreviewOptions = {}): Promise<string> {
    const preview = await this.network.preview(port, options);
    return withToken(preview.url, preview.token);
  }

  /** What the server said about this sandbox when last asked (see `refresh()`). */
  get info(): SandboxInfo {
    return this.#info;
  }

  get #path(): string {
    return `/api/v1/sandboxes/${encodeURIComponent(this.id)}`;
  }

  /**
   * Fetches the sandbox's current info.
   *
   * @example
   * const { status, expiresAt } = await sandbox.refresh();
   */
  async refresh(): Promise<SandboxInfo> {
    this.#info = sandboxFromWire(await this.#http.json<WireSandbox>('GET', this.#path));
    return this.#info;
  }

  /**
   * Current CPU, memory, network, disk and process counts.
   *
   * @example
   * const { memoryUsage, cpuPercent } = await sandbox.stats();
   */
  async stats(): Promise<SandboxStats> {
    return statsFromWire(await this.#http.json<WireSandboxStats>('GET', `${this.#path}/stats`));
  }

  /**
   * Sets the sandbox's remaining lifetime to `seconds` from now.
   *
   * @example
   * await sandbox.setTimeout(3600); // keep it for another hour
   */
  async setTimeout(seconds: number): Promise<SandboxInfo> {
    const body = await this.#http.json<unknown>('POST', `${this.#path}/timeout`, {
      json: { timeout: Math.ceil(seconds) },
    });
    if (typeof body === 'object' && body !== null && 'id' in body && 'created_at' in body) {
      this.#info = sandboxFromWire(body as WireSandbox);
      return this.#info;
    }
    return this.refresh();
  }

  /**
   * Stops the sandbox (its id, files on disk and volumes remain; `start()` resumes it).
   *
   * @example
   * await sandbox.stop();
   */
  async stop(): Promise<void> {
    await this.#http.send('POST', `${this.#path}/stop`, { timeoutMs: 0 });
    this.#info = { ...this.#info, status: 'stopped' };
  }

  /**
   * Starts a stopped sandbox.
   *
   * @example
   * await sandbox.start();
   */
  async start(): Promise<void> {
    await this.#http.send('POST', `${this.#path}/start`, { timeoutMs: 0 });
    this.#info = { ...this.#info, status: 'running' };
  }

  /**
   * Freezes every process of the sandbox (they keep their memory and state and use no CPU). A command or file
   * call resumes it (unless the server's `sandbox.auto_resume` is off); `resume()` does so explicitly.
   *
   * @example
   * await sandbox.pause();
   */
  async pause(): Promise<SandboxInfo> {
    this.#info = sandboxFromWire(
      await this.#http.json<WireSandbox>('POST', `${this.#path}/pause`, { timeoutMs: 0 }),
    );
    return this.#info;
  }

  /**
   * Continues a paused sandbox's processes where they were.
   *
   * @example
   * await sandbox.resume();
   */
  async resume(): Promise<SandboxInfo> {
    this.#info = sandboxFromWire(
      await this.#http.json<WireSandbox>('POST', `${this.#path}/resume`, { timeoutMs: 0 }),
    );
    return this.#info;
  }

  /**
   * Copies this running sandbox `count` times: its files (tmpfs included) and configuration, not its processes
   * (nor host ports or S3 sync). Each copy has its own id and address.
   *
   * @example
   * const [a, b] = await sandbox.fork(2);
   * await Promise.all([a.commands.run('make try-a'), b.commands.run('make try-b')]);
   */
  async fork(count = 1): Promise<Sandbox[]> {
    const body = await this.#http.json<{ sandboxes: WireSandbox[] }>('POST', `${this.#path}/fork`, {
      json: { count },
      timeoutMs: 0,
    });
    return body.sandboxes.map((wire) => new Sandbox(this.#http, sandboxFromWire(wire)));
  }

  /**
   * Destroys the sandbox and everything in it.
   *
   * @example
   * await sandbox.destroy();
   */
  async destroy(): Promise<void> {
    await this.#http.send('DELETE', this.#path, { timeoutMs: 0 });
  }

  /** Destroys the sandbox at the end of an `await using` scope (a sandbox already gone is fine). */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.destroy();
    } catch (error) {
      if (!(error instanceof SandboxNotFoundError)) throw error;
    }
  }
}
