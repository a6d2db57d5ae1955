/** Snapshots: per sandbox (`sandbox.snapshots`) and by id (`burrow.snapshots`). */
import type { Sandbox as WireSandbox, SnapshotInfo as WireSnapshotInfo } from '@burrow/protocol';
import { snapshotFromWire } from './convert.js';
import type { HttpClient } from './http.js';
import type { SnapshotInfo } from './types.js';

/**
 * Snapshots of one sandbox. In Burrow a snapshot keeps the contents of /tmp, /home/sandbox and the other tmpfs
 * mounts too (Den's snapshots lose them).
 *
 * @example
 * const snap = await sandbox.snapshots.create('after-setup');
 * const all = await sandbox.snapshots.list();
 */
export class SandboxSnapshots {
  readonly #http: HttpClient;
  readonly #path: string;

  /** @internal */
  constructor(http: HttpClient, sandboxId: string) {
    this.#http = http;
    this.#path = `/api/v1/sandboxes/${encodeURIComponent(sandboxId)}/snapshots`;
  }

  /**
   * Saves the sandbox's filesystem as a snapshot.
   *
   * @example
   * const { id } = await sandbox.snapshots.create('deps-installed');
   */
  async create(name = '', options: { signal?: AbortSignal } = {}): Promise<SnapshotInfo> {
    const wire = await this.#http.json<WireSnapshotInfo>('POST', this.#path, {
      json: { name },
      signal: options.signal,
      timeoutMs: 0,
    });
    return snapshotFromWire(wire);
  }

  /**
   * Lists this sandbox's snapshots.
   *
   * @example
   * for (const snap of await sandbox.snapshots.list()) console.log(snap.id, snap.name);
   */
  async list(): Promise<SnapshotInfo[]> {
    const wire = await this.#http.json<WireSnapshotInfo[] | null>('GET', this.#path);
    return (wire ?? []).map(snapshotFromWire);
  }
}

/** Restores and deletes snapshots by id; `restore` needs a sandbox factory (see `Burrow`). */
export class SnapshotOperations<S> {
  readonly #http: HttpClient;
  readonly #open: (id: string) => Promise<S>;

  /** @internal */
  constructor(http: HttpClient, open: (id: string) => Promise<S>) {
    this.#http = http;
    this.#open = open;
  }

  /**
   * Starts a new sandbox from a snapshot (the original sandbox is untouched).
   *
   * @example
   * const copy = await burrow.snapshots.restore(snap.id);
   */
  async restore(snapshotId: string): Promise<S> {
    const created = await this.#http.json<Pick<WireSandbox, 'id'>>(
      'POST',
      `/api/v1/snapshots/${encodeURIComponent(snapshotId)}/restore`,
      { timeoutMs: 0 },
    );
    return this.#open(created.id);
  }

  /**
   * Deletes a snapshot.
   *
   * @example
   * await burrow.snapshots.delete(snap.id);
   */
  async delete(snapshotId: string): Promise<void> {
    await this.#http.send('DELETE', `/api/v1/snapshots/${encodeURIComponent(snapshotId)}`);
  }
}
