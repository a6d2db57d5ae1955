/**
 * `sandbox.files`: the sandbox's filesystem. Bodies stream both ways, so file size is bounded by the server's limit,
 * not by memory. Transfers have no client deadline (they can be long): bound them with `signal`.
 */
import type { FileInfo as WireFileInfo } from '@burrow/protocol';
import { toBody, type WriteData } from './body.js';
import { fileFromWire } from './convert.js';
import { BurrowError, FileNotFoundError } from './errors.js';
import { FileWatch, type WatchOptions } from './file-watch.js';
import type { HttpClient, RequestOptions } from './http.js';
import type { LocalFiles } from './platform.js';
import type { FileInfo, ProgressCallback } from './types.js';

/** Options of a single file call. */
export interface FileCallOptions {
  signal?: AbortSignal;
}

/** Options of transfers: cancellation and progress. */
export interface TransferOptions extends FileCallOptions {
  /** Called as bytes move, with the total when it is known. */
  onProgress?: ProgressCallback;
}

/** A directory's entries, and whether the server cut the listing at its limit. */
export interface DirectoryListing {
  entries: FileInfo[];
  truncated: boolean;
}

/** What a write stored. */
export interface WriteResult {
  /** Bytes written, as the server counted them. */
  bytes: number;
}

function hasKnownSize(data: WriteData): data is string | Uint8Array | ArrayBuffer | Blob {
  return (
    typeof data === 'string' ||
    data instanceof Uint8Array ||
    data instanceof ArrayBuffer ||
    data instanceof Blob
  );
}

/**
 * Reads and writes files of one sandbox. Paths are absolute paths inside the sandbox.
 *
 * @example
 * await sandbox.files.write('/tmp/hello.txt', 'hello');
 * const text = await sandbox.files.readText('/tmp/hello.txt');
 * for (const entry of await sandbox.files.list('/tmp')) console.log(entry.name, entry.size);
 */
export class Files {
  readonly #http: HttpClient;
  readonly #base: string;
  readonly #sandboxId: string;

  /** @internal */
  constructor(http: HttpClient, sandboxId: string) {
    this.#http = http;
    this.#sandboxId = sandboxId;
    this.#base = `/api/v1/sandboxes/${encodeURIComponent(sandboxId)}/files`;
  }

  /**
   * Watches a directory for changes (create, write, remove, rename, chmod), as an AsyncIterable or through
   * `onEvent`; resolves once the watch is in place, so later changes are not missed. See {@link FileWatch}.
   *
   * @example
   * const watch = await sandbox.files.watch('/home/sandbox/app', { recursive: true, signal });
   * for await (const event of watch) if (event.type === 'event') console.log(event.kind, event.path);
   */
  watch(path: string, options: WatchOptions = {}): Promise<FileWatch> {
    return FileWatch.open(this.#http, this.#sandboxId, path, options);
  }

  /**
   * Reads a whole file as bytes.
   *
   * @example
   * const png = await sandbox.files.read('/tmp/plot.png');
   */
  async read(path: string, options: FileCallOptions = {}): Promise<Uint8Array> {
    const response = await this.#http.stream('GET', this.#base, { query: { path }, signal: options.signal });
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * Reads a whole file as UTF-8 text.
   *
   * @example
   * const config = JSON.parse(await sandbox.files.readText('/home/sandbox/config.json'));
   */
  async readText(path: string, options: FileCallOptions = {}): Promise<string> {
    return new TextDecoder().decode(await this.read(path, options));
  }

  /**
   * Opens a file as a stream of bytes, for files too large to hold in memory.
   *
   * @example
   * const stream = await sandbox.files.readStream('/tmp/big.log');
   * for await (const chunk of stream) process.stdout.write(chunk);
   */
  async readStream(path: string, options: FileCallOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const response = await this.#http.stream('GET', this.#base, { query: { path }, signal: options.signal });
    return response.body ?? new Blob([]).stream();
  }

  /**
   * Writes a file, creating parent directories. Streams and async iterables (e.g. a Node `Readable`) are sent as
   * they are read.
   *
   * @example
   * await sandbox.files.write('/tmp/data.bin', new Uint8Array([1, 2, 3]));
   * await sandbox.files.write('/tmp/copy.log', fs.createReadStream('local.log'));
   */
  async write(path: string, data: WriteData, options: TransferOptions = {}): Promise<WriteResult> {
    const request: RequestOptions = {
      query: { path },
      headers: { 'Content-Type': 'application/octet-stream' },
      signal: options.signal,
      timeoutMs: 0,
    };
    const { onProgress } = options;
    const progressFetch = this.#http.platform.progressFetch;
    let size: number | undefined;
    if (onProgress !== undefined && progressFetch !== undefined && hasKnownSize(data)) {
      // Sent whole by a fetch that reports progress (a browser cannot stream a request body over HTTP/1.1).
      const prepared = toBody(data);
      size = prepared.size;
      request.body = prepared.body;
      request.fetch = progressFetch((sent) => onProgress(sent, size));
    } else {
      const prepared = toBody(data, onProgress);
      size = prepared.size;
      request.body = prepared.body;
    }
    const response = await this.#http.json<{ bytes?: number } | undefined>('PUT', this.#base, request);
    if (request.fetch !== undefined && size !== undefined) onProgress?.(size, size);
    return { bytes: response?.bytes ?? size ?? 0 };
  }

  /**
   * Lists a directory. The server returns at most its `server.max_list_entries` (10000 by default) entries; use
   * {@link Files.listEntries} to learn whether a listing was cut.
   *
   * @example
   * const names = (await sandbox.files.list('/home/sandbox')).map((entry) => entry.name);
   */
  async list(path = '/', options: FileCallOptions = {}): Promise<FileInfo[]> {
    return (await this.listEntries(path, options)).entries;
  }

  /**
   * Lists a directory and says whether the server cut the listing at its limit (`truncated`).
   *
   * @example
   * const { entries, truncated } = await sandbox.files.listEntries('/tmp');
   * if (truncated) console.warn(`only the first ${entries.length} entries of /tmp`);
   */
  async listEntries(path = '/', options: FileCallOptions = {}): Promise<DirectoryListing> {
    const url = `${this.#base}/list`;
    return this.#http.exchange('GET', url, { query: { path }, signal: options.signal }, async (response) => {
      const text = await response.text();
      let entries: WireFileInfo[] | null;
      try {
        entries = text.trim() === '' ? null : (JSON.parse(text) as WireFileInfo[] | null);
      } catch {
        throw new BurrowError(
          'INVALID_RESPONSE',
          response.status,
          `the server sent invalid JSON for GET ${url}`,
        );
      }
      return {
        entries: (entries ?? []).map(fileFromWire),
        truncated: response.headers.get('burrow-truncated') === 'true',
      };
    });
  }

  /**
   * Describes one path; throws `FileNotFoundError` when it does not exist.
   *
   * @example
   * const { size, isDir } = await sandbox.files.stat('/tmp/out.csv');
   */
  async stat(path: string, options: FileCallOptions = {}): Promise<FileInfo> {
    const entry = await this.#http.json<WireFileInfo>('GET', `${this.#base}/stat`, {
      query: { path },
      signal: options.signal,
    });
    return fileFromWire(entry);
  }

  /**
   * Whether a path exists.
   *
   * @example
   * if (!(await sandbox.files.exists('/tmp/venv'))) await sandbox.commands.run('python3 -m venv /tmp/venv');
   */
  async exists(path: string, options: FileCallOptions = {}): Promise<boolean> {
    try {
      await this.stat(path, options);
      return true;
    } catch (error) {
      if (error instanceof FileNotFoundError) return false;
      throw error;
    }
  }

  /**
   * Creates a directory and its parents.
   *
   * @example
   * await sandbox.files.mkdir('/home/sandbox/project/src');
   */
  async mkdir(path: string, options: FileCallOptions = {}): Promise<void> {
    await this.#http.send('POST', `${this.#base}/mkdir`, { query: { path }, signal: options.signal });
  }

  /**
   * Removes a file or a directory tree (no error when it is already gone).
   *
   * @example
   * await sandbox.files.remove('/tmp/build');
   */
  async remove(path: string, options: FileCallOptions = {}): Promise<void> {
    await this.#http.send('DELETE', this.#base, { query: { path }, signal: options.signal });
  }

  #localFiles(verb: 'upload' | 'download'): LocalFiles {
    const local = this.#http.platform.localFiles;
    if (local === undefined)
      throw new TypeError(
        `files.${verb}() needs a local filesystem (Node): use files.${verb === 'upload' ? 'write' : 'read'}() here`,
      );
    return local;
  }

  /**
   * Copies a local file (Node only) into the sandbox, streaming it from disk.
   *
   * @example
   * await sandbox.files.upload('./dataset.csv', '/home/sandbox/dataset.csv', {
   *   onProgress: (done, total) => console.log(done, '/', total) });
   */
  async upload(localPath: string, remotePath: string, options: TransferOptions = {}): Promise<WriteResult> {
    return this.#localFiles('upload').uploadFromFile(localPath, (stream, size) =>
      this.write(remotePath, stream, {
        ...options,
        ...(options.onProgress === undefined
          ? {}
          : { onProgress: (done: number) => options.onProgress?.(done, size) }),
      }),
    );
  }

  /**
   * Copies a sandbox file to a local path (Node only), streaming it to disk.
   *
   * @example
   * await sandbox.files.download('/tmp/results.tar.gz', './results.tar.gz');
   */
  async download(remotePath: string, localPath: string, options: TransferOptions = {}): Promise<number> {
    this.#localFiles('download');
    const response = await this.#http.stream('GET', `${this.#base}/download`, {
      query: { path: remotePath },
      signal: options.signal,
    });
    const length = response.headers.get('content-length');
    const total = length === null ? undefined : Number(length);
    return this.#localFiles('download').downloadToFile(
      response.body ?? new Blob([]).stream(),
      localPath,
      total,
      options.onProgress,
    );
  }
}
