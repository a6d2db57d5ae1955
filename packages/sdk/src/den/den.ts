/**
 * Den's TypeScript SDK surface (`@us4/den`), method for method, over Burrow's HTTP client: code written for Den
 * ports by changing the import. Errors keep Den's shape: `DenError(statusCode, "API error (<status>): <error>")`.
 */
import { BurrowError } from '../errors.js';
import { HttpClient, type RequestOptions } from '../http.js';
import type { Platform } from '../platform.js';
import type {
  ClientConfig,
  ExecOptions,
  ExecResult,
  FileInfo,
  SandboxConfig,
  SandboxInfo,
  SandboxStats,
  SnapshotInfo,
} from './types.js';

/**
 * A failed Den API call: `statusCode` is the HTTP status (0 for a client-side refusal), `code` Burrow's error code.
 *
 * @example
 * try { await den.sandbox.get('nope'); } catch (e) { if (e instanceof DenError) console.log(e.statusCode); } // 404
 */
export class DenError extends Error {
  readonly statusCode: number;
  /** Burrow's error code, when the server sent one. */
  readonly code: string | undefined;

  constructor(statusCode: number, message: string, code?: string) {
    super(message);
    this.name = 'DenError';
    this.statusCode = statusCode;
    this.code = code;
  }
}

const NETWORK_MODE_REFUSED =
  'server does not advertise the "network_mode" feature; upgrade Den or omit network_mode';

/** Den's request helper: the same HTTP client, errors rewritten as `DenError`. */
class DenHttp {
  readonly inner: HttpClient;

  constructor(inner: HttpClient) {
    this.inner = inner;
  }

  async call<T>(run: (http: HttpClient) => Promise<T>): Promise<T> {
    try {
      return await run(this.inner);
    } catch (error) {
      if (error instanceof BurrowError) {
        throw new DenError(error.status, `API error (${error.status}): ${error.message}`, error.code);
      }
      throw error;
    }
  }

  json<T>(method: string, path: string, options?: RequestOptions): Promise<T> {
    return this.call((http) => http.json<T>(method, path, options));
  }

  send(method: string, path: string, options?: RequestOptions): Promise<void> {
    return this.call((http) => http.send(method, path, options));
  }
}

const sandboxPath = (id: string) => `/api/v1/sandboxes/${encodeURIComponent(id)}`;

/**
 * A sandbox as Den's SDK models it: fields copied from the info at construction, methods over the API.
 *
 * @example
 * const sandbox = await den.sandbox.create({ image: 'burrow/default:latest' });
 * const { exit_code, stdout } = await sandbox.exec(['echo', 'hi']);
 */
export class DenSandbox {
  readonly id: string;
  readonly image: string;
  readonly status: string;
  readonly createdAt: string;
  readonly #http: DenHttp;

  /** @internal */
  constructor(info: SandboxInfo, http: DenHttp) {
    this.id = info.id;
    this.image = info.image;
    this.status = info.status;
    this.createdAt = info.created_at;
    this.#http = http;
  }

  /**
   * Runs an argv command and returns `{exit_code, stdout, stderr}`.
   *
   * @example
   * await sandbox.exec(['sh', '-c', 'ls | wc -l'], { timeout: 30 });
   */
  exec(cmd: string[], options?: ExecOptions): Promise<ExecResult> {
    const body: Record<string, unknown> = { cmd };
    if (options?.env) body.env = options.env;
    if (options?.workdir) body.workdir = options.workdir;
    if (options?.timeout) body.timeout = options.timeout;
    return this.#http.json<ExecResult>('POST', `${sandboxPath(this.id)}/exec`, { json: body });
  }

  /**
   * Reads a file as UTF-8 text.
   *
   * @example
   * const text = await sandbox.readFile('/tmp/out.txt');
   */
  async readFile(path: string): Promise<string> {
    const bytes = await this.#http.call((http) =>
      http.bytes('GET', `${sandboxPath(this.id)}/files`, { query: { path } }),
    );
    return new TextDecoder().decode(bytes);
  }

  /**
   * Writes a file.
   *
   * @example
   * await sandbox.writeFile('/tmp/in.txt', 'data');
   */
  async writeFile(path: string, content: string | Uint8Array): Promise<void> {
    await this.#http.send('PUT', `${sandboxPath(this.id)}/files`, {
      query: { path },
      body: content,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
  }

  /**
   * Lists a directory (default `/`).
   *
   * @example
   * const files = await sandbox.listFiles('/tmp');
   */
  async listFiles(path = '/'): Promise<FileInfo[]> {
    return (
      (await this.#http.json<FileInfo[] | null>('GET', `${sandboxPath(this.id)}/files/list`, {
        query: { path },
      })) ?? []
    );
  }

  /**
   * Creates a directory and its parents.
   *
   * @example
   * await sandbox.mkdir('/tmp/work');
   */
  mkdir(path: string): Promise<void> {
    return this.#http.send('POST', `${sandboxPath(this.id)}/files/mkdir`, { query: { path } });
  }

  /**
   * Removes a file or directory tree.
   *
   * @example
   * await sandbox.removeFile('/tmp/work');
   */
  removeFile(path: string): Promise<void> {
    return this.#http.send('DELETE', `${sandboxPath(this.id)}/files`, { query: { path } });
  }

  /**
   * Takes a snapshot.
   *
   * @example
   * const snap = await sandbox.snapshot('checkpoint');
   */
  snapshot(name: string): Promise<SnapshotInfo> {
    return this.#http.json<SnapshotInfo>('POST', `${sandboxPath(this.id)}/snapshots`, { json: { name } });
  }

  /**
   * Lists this sandbox's snapshots.
   *
   * @example
   * const snaps = await sandbox.listSnapshots();
   */
  async listSnapshots(): Promise<SnapshotInfo[]> {
    return (await this.#http.json<SnapshotInfo[] | null>('GET', `${sandboxPath(this.id)}/snapshots`)) ?? [];
  }

  /**
   * Resource usage.
   *
   * @example
   * const { memory_usage } = await sandbox.stats();
   */
  stats(): Promise<SandboxStats> {
    return this.#http.json<SandboxStats>('GET', `${sandboxPath(this.id)}/stats`);
  }

  /**
   * Stops the sandbox.
   *
   * @example
   * await sandbox.stop();
   */
  async stop(): Promise<void> {
    await this.#http.json<unknown>('POST', `${sandboxPath(this.id)}/stop`);
  }

  /**
   * Destroys the sandbox.
   *
   * @example
   * await sandbox.destroy();
   */
  destroy(): Promise<void> {
    return this.#http.send('DELETE', sandboxPath(this.id));
  }
}

/**
 * Sandbox lifecycle, as `den.sandbox`.
 *
 * @example
 * const all = await den.sandbox.list();
 */
export class DenSandboxManager {
  readonly #http: DenHttp;
  #networkModeProbe: Promise<void> | undefined;

  /** @internal */
  constructor(http: DenHttp) {
    this.#http = http;
  }

  /** Den's lazy feature probe: `network_mode` is only sent to servers that advertise it (cached once it passes). */
  #probeNetworkMode(): Promise<void> {
    this.#networkModeProbe ??= (async () => {
      const version = await this.#http.json<{ features?: unknown }>('GET', '/api/v1/version');
      if (!Array.isArray(version.features) || !version.features.includes('network_mode')) {
        throw new DenError(0, NETWORK_MODE_REFUSED);
      }
    })();
    this.#networkModeProbe.catch(() => (this.#networkModeProbe = undefined));
    return this.#networkModeProbe;
  }

  /**
   * Creates a sandbox (the config is sent as JSON verbatim).
   *
   * @example
   * const sandbox = await den.sandbox.create({ image: 'burrow/default:latest', timeout: 600 });
   */
  async create(config: SandboxConfig = {}): Promise<DenSandbox> {
    if (config.network_mode) await this.#probeNetworkMode();
    const info = await this.#http.json<SandboxInfo>('POST', '/api/v1/sandboxes', { json: config });
    return new DenSandbox(info, this.#http);
  }

  /**
   * Lists sandboxes.
   *
   * @example
   * for (const sandbox of await den.sandbox.list()) console.log(sandbox.id);
   */
  async list(): Promise<DenSandbox[]> {
    const infos = (await this.#http.json<SandboxInfo[] | null>('GET', '/api/v1/sandboxes')) ?? [];
    return infos.map((info) => new DenSandbox(info, this.#http));
  }

  /**
   * Gets a sandbox by id.
   *
   * @example
   * const sandbox = await den.sandbox.get(id);
   */
  async get(id: string): Promise<DenSandbox> {
    return new DenSandbox(await this.#http.json<SandboxInfo>('GET', sandboxPath(id)), this.#http);
  }

  /**
   * Destroys a sandbox by id.
   *
   * @example
   * await den.sandbox.destroy(id);
   */
  destroy(id: string): Promise<void> {
    return this.#http.send('DELETE', sandboxPath(id));
  }

  /**
   * Starts a new sandbox from a snapshot.
   *
   * @example
   * const copy = await den.sandbox.restoreSnapshot(snap.id);
   */
  async restoreSnapshot(snapshotId: string): Promise<DenSandbox> {
    const result = await this.#http.json<{ id: string }>(
      'POST',
      `/api/v1/snapshots/${encodeURIComponent(snapshotId)}/restore`,
    );
    return this.get(result.id);
  }

  /**
   * Deletes a snapshot.
   *
   * @example
   * await den.sandbox.deleteSnapshot(snap.id);
   */
  deleteSnapshot(snapshotId: string): Promise<void> {
    return this.#http.send('DELETE', `/api/v1/snapshots/${encodeURIComponent(snapshotId)}`);
  }
}

/**
 * Den's client class.
 *
 * @example
 * import { Den } from '@burrow/sdk'; // was: import { Den } from '@us4/den'
 * const den = new Den({ url: 'http://127.0.0.1:8080', apiKey: process.env.DEN_API_KEY });
 * const sandbox = await den.sandbox.create({ image: 'burrow/default:latest' });
 */
export class Den {
  readonly #sandbox: DenSandboxManager;
  readonly #http: HttpClient;

  /** `platform` is bound by the entry point (Node's or the browser's); callers pass only `config`. */
  constructor(config: ClientConfig, platform?: Platform) {
    // Den's TS SDK sets no request deadline.
    this.#http = new HttpClient({ url: config.url, apiKey: config.apiKey, timeoutMs: 0, platform });
    this.#sandbox = new DenSandboxManager(new DenHttp(this.#http));
  }

  /** Sandbox lifecycle operations. */
  get sandbox(): DenSandboxManager {
    return this.#sandbox;
  }

  /**
   * True when the server answers healthy; never throws.
   *
   * @example
   * if (!(await den.health())) console.error('Den is down');
   */
  async health(): Promise<boolean> {
    try {
      const body = await this.#http.json<{ status?: unknown }>('GET', '/api/v1/health');
      return body.status === 'ok';
    } catch {
      return false;
    }
  }

  /**
   * The server's version, commit, build date and feature tokens.
   *
   * @example
   * const { version, features } = await den.version();
   */
  async version(): Promise<{ version: string; commit: string; build_date: string; features?: string[] }> {
    try {
      return await this.#http.json('GET', '/api/v1/version');
    } catch (error) {
      if (error instanceof BurrowError) throw new Error(`Failed to fetch version: ${error.status}`);
      throw error;
    }
  }
}
