/**
 * What differs between the places the SDK runs. The core (HTTP, sandboxes, commands, files) is plain fetch and
 * web streams everywhere; only opening a WebSocket, local-file transfers and upload progress need a runtime's own
 * facilities. Each entry point binds one platform: `index.ts` Node's (the `ws` package, `node:fs`), `browser.ts`
 * the web's (the global WebSocket, XMLHttpRequest for upload progress).
 */
import type { FetchFn } from './http.js';
import type { ProgressCallback } from './types.js';
import type { SocketLike } from './websocket.js';

export interface OpenSocketOptions {
  /** The API key, when there is one (sent as a header where possible, else as a WebSocket subprotocol). */
  apiKey: string | undefined;
  /** Headers of every request (the API key header included). */
  headers: Record<string, string>;
  /** The server's base URL, for error messages. */
  baseUrl: string;
  signal?: AbortSignal | undefined;
}

/** Local files as streams (Node): what `files.upload()` and `files.download()` use. */
export interface LocalFiles {
  uploadFromFile<T>(
    localPath: string,
    send: (stream: AsyncIterable<Uint8Array>, size: number) => Promise<T>,
  ): Promise<T>;
  downloadToFile(
    body: ReadableStream<Uint8Array>,
    localPath: string,
    total: number | undefined,
    onProgress?: ProgressCallback,
  ): Promise<number>;
}

export interface Platform {
  /** Resolves once the socket is open; rejects with a typed error when the upgrade is refused or unreachable. */
  openSocket(url: string, options: OpenSocketOptions): Promise<SocketLike>;
  /** Local-file transfers; absent where there is no local filesystem (browsers). */
  localFiles?: LocalFiles;
  /**
   * A fetch that reports the upload progress of a body of known size. Where fetch can stream a request body (Node)
   * this is absent and the body is counted as it streams; browsers stream request bodies only over HTTP/2.
   */
  progressFetch?(onProgress: (sent: number) => void): FetchFn;
}
