/** `Burrow`: the client. Creates, finds and lists sandboxes; health and version of the server. */
import type { Sandbox as WireSandbox } from '@burrow/protocol';
import { createRequestToWire, sandboxFromWire } from './convert.js';
import { BurrowError } from './errors.js';
import { HttpClient, type FetchFn } from './http.js';
import type { Platform } from './platform.js';
import { Sandbox } from './sandbox.js';
import { SnapshotOperations } from './snapshots.js';
import { resources, systemStats, type Resources, type SystemStats } from './system.js';
import type { CreateSandboxOptions, HealthInfo, VersionInfo } from './types.js';

/**
 * Where the client looks when no `url` is given and `BURROW_URL` is unset.
 *
 * @example
 * new Burrow({ url: DEFAULT_URL });
 */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** Options of `new Burrow()`. */
export interface BurrowOptions {
  /** Server URL; default `BURROW_URL`, else `http://127.0.0.1:8080`. */
  url?: string | undefined;
  /** API key sent as `X-API-Key`; default `BURROW_API_KEY`. */
  apiKey?: string | undefined;
  /** A fetch implementation (e.g. one with a proxy agent); default the global fetch. */
  fetch?: FetchFn | undefined;
  /** Deadline of ordinary requests in ms (default 120000; 0 = none). Transfers and long commands are exempt. */
  timeoutMs?: number | undefined;
}

function env(name: string): string | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env?.[name];
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Resolves options against `BURROW_URL` / `BURROW_API_KEY` and the defaults.
 *
 * @example
 * const { url, apiKey } = resolveOptions(); // what `new Burrow()` would use
 */
export function resolveOptions(options: BurrowOptions = {}): {
  url: string;
  apiKey: string | undefined;
  timeoutMs: number;
} {
  return {
    url: options.url ?? env('BURROW_URL') ?? DEFAULT_URL,
    apiKey: options.apiKey ?? env('BURROW_API_KEY'),
    timeoutMs: options.timeoutMs ?? 120_000,
  };
}

/**
 * A client of one Burrow server.
 *
 * @example
 * import { Burrow } from '@burrow/sdk';
 *
 * const burrow = new Burrow(); // BURROW_URL / BURROW_API_KEY, or http://127.0.0.1:8080
 * await using sandbox = await burrow.create({ timeoutSeconds: 600 });
 * const result = await sandbox.commands.run('echo hello');
 * console.log(result.stdout); // "hello\n"
 */
export class Burrow {
  /** The server URL this client talks to. */
  readonly url: string;
  /** Restore and delete snapshots by id. */
  readonly snapshots: SnapshotOperations<Sandbox>;
  readonly #http: HttpClient;

  /** `platform` is bound by the entry point (Node's or the browser's); callers pass only `options`. */
  constructor(options: BurrowOptions = {}, platform?: Platform) {
    const resolved = resolveOptions(options);
    this.url = resolved.url.replace(/\/+$/, '');
    this.#http = new HttpClient({ ...resolved, fetch: options.fetch, platform });
    this.snapshots = new SnapshotOperations(this.#http, (id) => this.get(id));
  }

  /**
   * Creates a sandbox and waits until it runs.
   *
   * @example
   * const sandbox = await burrow.create({ image: 'python:3.12-slim', memoryBytes: 512 * 1024 ** 2, networkMode: 'none' });
   */
  async create(options: CreateSandboxOptions = {}): Promise<Sandbox> {
    const wire = await this.#http.json<WireSandbox>('POST', '/api/v1/sandboxes', {
      json: createRequestToWire(options),
      signal: options.signal,
      timeoutMs: 0,
    });
    return new Sandbox(this.#http, sandboxFromWire(wire));
  }

  /**
   * A handle on an existing sandbox; throws `SandboxNotFoundError` when there is none with that id.
   *
   * @example
   * const sandbox = await burrow.get(process.argv[2]);
   */
  async get(id: string): Promise<Sandbox> {
    const wire = await this.#http.json<WireSandbox>('GET', `/api/v1/sandboxes/${encodeURIComponent(id)}`);
    return new Sandbox(this.#http, sandboxFromWire(wire));
  }

  /**
   * Every sandbox the server tracks (running, stopped or in error), as handles carrying their `info`.
   *
   * @example
   * for (const sandbox of await burrow.list()) console.log(sandbox.id, sandbox.info.status);
   */
  async list(): Promise<Sandbox[]> {
    const wire = await this.#http.json<WireSandbox[] | null>('GET', '/api/v1/sandboxes');
    return (wire ?? []).map((item) => new Sandbox(this.#http, sandboxFromWire(item)));
  }

  /**
   * Whether the server and its container engine work. Throws `ConnectionError` when the server cannot be reached.
   *
   * @example
   * const { ok, reason } = await burrow.health();
   */
  async health(): Promise<HealthInfo> {
    try {
      const body = await this.#http.json<{ status: string; features?: string[] }>('GET', '/api/v1/health');
      return { ok: body.status === 'ok', features: body.features ?? [] };
    } catch (error) {
      if (error instanceof BurrowError && error.status === 503) {
        const reason = typeof error.details.reason === 'string' ? error.details.reason : error.message;
        return { ok: false, features: [], reason };
      }
      throw error;
    }
  }

  /**
   * How many sandboxes the server tracks, by status.
   *
   * @example
   * const { running, total } = await burrow.stats();
   */
  stats(): Promise<SystemStats> {
    return systemStats(this.#http);
  }

  /**
   * Host memory, the memory-pressure level, sandbox counts and the warm pools.
   *
   * @example
   * const { host, pressure } = await burrow.resources();
   */
  resources(): Promise<Resources> {
    return resources(this.#http);
  }

  /**
   * The server's version and feature tokens.
   *
   * @example
   * const { version, features } = await burrow.version();
   */
  async version(): Promise<VersionInfo> {
    const body = await this.#http.json<{
      version: string;
      commit: string;
      build_date: string;
      features?: string[];
      api?: string;
    }>('GET', '/api/v1/version');
    const info: VersionInfo = {
      version: body.version,
      commit: body.commit,
      buildDate: body.build_date,
      features: body.features ?? [],
    };
    if (body.api !== undefined) info.api = body.api;
    return info;
  }
}
