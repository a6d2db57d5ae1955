/**
 * Snapshots that keep what a user sees: the container's writable layer (an image made by `docker commit`) and the
 * contents of its tmpfs mounts (archived through the agent, or as tar on the Engine API path, into the state
 * directory). Named volumes are shared state: recorded, not copied. All metadata lives in the snapshot image's
 * labels, so nothing is lost on a crash.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import { newSandboxId, newSnapshotId, SNAPSHOT_ID_PATTERN } from '../../ids.js';
import type {
  ForkOptions,
  RestoreOptions,
  SandboxConfig,
  SnapshotInfo,
  SnapshotOptions,
  SnapshotProgress,
  VolumeMount,
} from '../runtime.js';
import type { ImageDefaults } from './create-spec.js';
import { dockerStatus, fromDockerError } from './docker-errors.js';
import { instanceFilter, LABEL } from './labels.js';

export const SNAPSHOT_REPOSITORY = 'burrow-snapshot';

/** The archive stream of the agent (agent/PROTOCOL.md), or tar from the image's own tar (Engine API path). */
export type ArchiveFormat = 'agent' | 'tar';

interface TmpfsCapture {
  path: string;
  file: string;
  bytes: number;
  /** Absent in captures made before the Engine API path existed: `agent`. */
  format?: ArchiveFormat;
}

/** Reads and refills a running sandbox's tmpfs contents. */
export interface TmpfsArchiver {
  archive(path: Buffer): Promise<Readable>;
  unpack(path: Buffer, archive: AsyncIterable<Uint8Array>): Promise<number>;
}

export interface SnapshotDeps {
  docker: Dockerode;
  instance: string;
  /** Where tmpfs archives are kept, one directory per snapshot. */
  dir: string;
  archiver(id: string): TmpfsArchiver;
  /** The format `archiver` reads and writes. */
  archiveFormat: ArchiveFormat;
  create(id: string, config: SandboxConfig, defaults: ImageDefaults): Promise<void>;
  start(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  inspect(id: string): Promise<Dockerode.ContainerInspectInfo>;
}

const SNAPSHOT_CONFIG = 'burrow.snapshot.config';
const SNAPSHOT_SIZE = 'burrow.snapshot.size';

function parseLabel<T>(labels: Record<string, string> | undefined, key: string, fallback: T): T {
  const raw = labels?.[key];
  if (raw === undefined) return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return fallback;
  }
}

function infoFromImage(image: { Id: string; Labels?: Record<string, string> | null }): SnapshotInfo {
  const labels = image.Labels ?? {};
  const config = parseLabel<SandboxConfig>(labels, SNAPSHOT_CONFIG, { image: '' });
  return {
    id: labels[LABEL.snapshotId] ?? '',
    sandboxId: labels[LABEL.snapshotSandbox] ?? '',
    name: labels[LABEL.snapshotName] ?? '',
    imageId: image.Id,
    createdAt: new Date(labels[LABEL.snapshotCreated] ?? 0),
    size: Number(labels[SNAPSHOT_SIZE] ?? 0),
    volumes: config.storage?.volumes ?? [],
    config,
  };
}

/** Passes bytes through, telling `onBytes` the running total. */
function counter(start: number, onBytes: (total: number) => void): Transform {
  let total = start;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      onBytes(total);
      callback(null, chunk);
    },
  });
}

function snapshotTag(snapshotId: string): string {
  return `${SNAPSHOT_REPOSITORY}:${snapshotId}`;
}

/** A removed snapshot's image may live on untagged while a restored sandbox uses it; it is no snapshot any more. */
function isTagged(image: Pick<Dockerode.ImageInfo, 'RepoTags' | 'Labels'>): boolean {
  const id = image.Labels?.[LABEL.snapshotId];
  return id !== undefined && (image.RepoTags ?? []).includes(snapshotTag(id));
}

export class DockerSnapshots {
  constructor(private readonly deps: SnapshotDeps) {}

  async create(sandboxId: string, name: string, options: SnapshotOptions = {}): Promise<SnapshotInfo> {
    const { docker } = this.deps;
    const report = (progress: SnapshotProgress) => options.onProgress?.(progress);
    const inspect = await this.deps.inspect(sandboxId);
    const labels = inspect.Config.Labels ?? {};
    const config = parseLabel<SandboxConfig | undefined>(labels, LABEL.config, undefined);
    const defaults = parseLabel<ImageDefaults | undefined>(labels, LABEL.imageDefaults, undefined);
    if (config === undefined || defaults === undefined) {
      throw new BurrowError(
        'INTERNAL',
        `sandbox ${sandboxId} lacks the configuration labels a snapshot needs`,
      );
    }
    const snapshotId = newSnapshotId();
    const createdAt = new Date();
    const dir = join(this.deps.dir, snapshotId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      // tmpfs is emptied when a sandbox stops, so a stopped sandbox has nothing there to keep.
      const captures: TmpfsCapture[] = [];
      if (inspect.State.Running) {
        const paths = Object.keys(inspect.HostConfig.Tmpfs ?? {});
        for (const [index, path] of paths.entries()) {
          const file = `tmpfs-${index}.bin`;
          const body = await this.deps.archiver(sandboxId).archive(Buffer.from(path));
          const out = createWriteStream(join(dir, file), { mode: 0o600 });
          const before = captures.reduce((sum, capture) => sum + capture.bytes, 0);
          await pipeline(
            body,
            counter(before, (bytes) => report({ phase: 'tmpfs', bytes })),
            out,
          );
          const format = this.deps.archiveFormat;
          captures.push({ path, file, bytes: out.bytesWritten, ...(format === 'agent' ? {} : { format }) });
        }
      }
      const container = docker.getContainer(inspect.Id);
      const sized = (await container.inspect({ size: true } as Dockerode.ContainerInspectOptions)) as {
        SizeRw?: number;
      };
      const tmpfsBytes = captures.reduce((sum, capture) => sum + capture.bytes, 0);
      const size = (sized.SizeRw ?? 0) + tmpfsBytes;
      report({ phase: 'commit', bytes: tmpfsBytes, layerBytes: sized.SizeRw ?? 0 });
      const result = (await container.commit({
        _query: {
          container: inspect.Id,
          repo: SNAPSHOT_REPOSITORY,
          tag: snapshotId,
          comment: `Snapshot '${name}' of sandbox ${sandboxId}`,
          pause: true,
        },
        _body: {
          Labels: {
            [LABEL.managed]: 'true',
            [LABEL.instance]: this.deps.instance,
            [LABEL.snapshot]: 'true',
            [LABEL.snapshotId]: snapshotId,
            [LABEL.snapshotSandbox]: sandboxId,
            [LABEL.snapshotName]: name,
            [LABEL.snapshotCreated]: createdAt.toISOString(),
            [LABEL.snapshotTmpfs]: JSON.stringify(captures),
            [LABEL.imageDefaults]: JSON.stringify(defaults),
            [SNAPSHOT_CONFIG]: JSON.stringify(config),
            [SNAPSHOT_SIZE]: String(size),
          },
        },
      })) as { Id?: string };
      return {
        id: snapshotId,
        sandboxId,
        name,
        imageId: result.Id ?? '',
        createdAt,
        size,
        volumes: config.storage?.volumes ?? ([] as VolumeMount[]),
        config,
      };
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      if (dockerStatus(error) === 404) throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
      throw fromDockerError(error, `snapshotting sandbox ${sandboxId}`);
    }
  }

  private async find(snapshotId: string): Promise<Dockerode.ImageInfo> {
    if (!SNAPSHOT_ID_PATTERN.test(snapshotId)) {
      throw new BurrowError('SNAPSHOT_NOT_FOUND', `snapshot not found: ${snapshotId}`);
    }
    const images = await this.deps.docker.listImages({
      filters: { label: [`${LABEL.snapshotId}=${snapshotId}`, instanceFilter(this.deps.instance)] },
    });
    const image = images.find(isTagged);
    if (image === undefined) throw new BurrowError('SNAPSHOT_NOT_FOUND', `snapshot not found: ${snapshotId}`);
    return image;
  }

  /**
   * Copies a running sandbox: a snapshot taken for the purpose (the container is paused only while its layer is
   * committed), one restore per id, in parallel, then the snapshot's name and tmpfs archives are removed. The
   * image lives on untagged while a copy uses it and goes with the last one (removeIfUnused).
   */
  async fork(sandboxId: string, ids: readonly string[], options: ForkOptions = {}): Promise<void> {
    const inspect = await this.deps.inspect(sandboxId);
    if (!inspect.State.Running || inspect.State.Paused) {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox ${sandboxId} is ${inspect.State.Paused ? 'paused' : 'not running'}: only a running sandbox can be forked`,
      );
    }
    const snapshot = await this.create(sandboxId, `fork of ${sandboxId}`);
    const made: string[] = [];
    try {
      const image = await this.find(snapshot.id);
      const results = await Promise.allSettled(
        ids.map(async (id) => {
          await this.restoreImage(snapshot.id, image, { id }, options.config);
          made.push(id);
        }),
      );
      const failure = results.find((result) => result.status === 'rejected');
      if (failure !== undefined) throw failure.reason;
    } catch (error) {
      await Promise.all(made.map((id) => this.deps.remove(id).catch(() => undefined)));
      throw error;
    } finally {
      await this.remove(snapshot.id).catch(() => undefined);
    }
  }

  /** Removes an untagged snapshot image (a fork's, or a removed snapshot's) once no container uses it. */
  async removeIfUnused(imageId: string): Promise<void> {
    try {
      const image = await this.deps.docker.getImage(imageId).inspect();
      const labels = image.Config?.Labels ?? {};
      if (labels[LABEL.snapshot] !== 'true' || labels[LABEL.instance] !== this.deps.instance) return;
      if ((image.RepoTags ?? []).length > 0) return;
      await this.deps.docker.getImage(imageId).remove();
    } catch {
      // Gone already, or still used by another sandbox: the last one removes it.
    }
  }

  async restore(snapshotId: string, options: RestoreOptions = {}): Promise<string> {
    return this.restoreImage(snapshotId, await this.find(snapshotId), options);
  }

  /** A new sandbox from a snapshot's image; `override` replaces the configuration the snapshot recorded. */
  private async restoreImage(
    snapshotId: string,
    image: Dockerode.ImageInfo,
    options: RestoreOptions,
    override?: SandboxConfig,
  ): Promise<string> {
    const labels = image.Labels ?? {};
    const info = infoFromImage(image);
    const defaults = parseLabel<ImageDefaults>(labels, LABEL.imageDefaults, {
      user: '',
      entrypoint: [],
      cmd: [],
    });
    const captures = parseLabel<TmpfsCapture[]>(labels, LABEL.snapshotTmpfs, []);
    const foreign = captures.find((capture) => (capture.format ?? 'agent') !== this.deps.archiveFormat);
    if (foreign !== undefined) {
      const [made, here] =
        this.deps.archiveFormat === 'tar'
          ? ['with the burrow-agent', 'without it']
          : ['without the burrow-agent', 'with it'];
      throw new BurrowError(
        'NOT_SUPPORTED',
        `snapshot ${snapshotId} was taken ${made} and keeps its tmpfs contents in a format this server, running ${here}, ` +
          'cannot unpack: restore it on a server with the same runtime.agent_transport kind',
      );
    }
    const id = options.id ?? newSandboxId();
    await this.deps.create(id, { ...(override ?? info.config), image: snapshotTag(snapshotId) }, defaults);
    try {
      await this.deps.start(id);
      let bytes = 0;
      for (const capture of captures) {
        const file = createReadStream(join(this.deps.dir, snapshotId, capture.file));
        const counted = counter(bytes, (total) => {
          bytes = total;
          options.onProgress?.({ phase: 'tmpfs', bytes: total });
        });
        file.once('error', (error) => counted.destroy(error));
        try {
          await this.deps.archiver(id).unpack(Buffer.from(capture.path), file.pipe(counted));
        } finally {
          file.destroy();
        }
      }
    } catch (error) {
      await this.deps.remove(id);
      throw error;
    }
    return id;
  }

  async list(sandboxId?: string): Promise<SnapshotInfo[]> {
    const filters = [`${LABEL.snapshot}=true`, instanceFilter(this.deps.instance)];
    if (sandboxId !== undefined) filters.push(`${LABEL.snapshotSandbox}=${sandboxId}`);
    const images = await this.deps.docker.listImages({ filters: { label: filters } });
    return images
      .filter(isTagged)
      .map(infoFromImage)
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async remove(snapshotId: string): Promise<void> {
    await this.find(snapshotId);
    try {
      // Removing the tag (not the image id) always succeeds: while a sandbox restored from the snapshot still
      // uses the image, the engine keeps it untagged, and pruneOrphans deletes it once nothing uses it.
      await this.deps.docker.getImage(snapshotTag(snapshotId)).remove({ force: true });
    } catch (error) {
      if (dockerStatus(error) !== 404) throw fromDockerError(error, `removing snapshot ${snapshotId}`);
    }
    await rm(join(this.deps.dir, snapshotId), { recursive: true, force: true });
  }

  /** Removes stored tmpfs data whose snapshot image no longer exists (after a crash mid-removal). */
  async pruneOrphans(): Promise<void> {
    const untagged = await this.deps.docker.listImages({
      filters: { label: [`${LABEL.snapshot}=true`, instanceFilter(this.deps.instance)] },
    });
    for (const image of untagged.filter((candidate) => !isTagged(candidate))) {
      try {
        await this.deps.docker.getImage(image.Id).remove();
      } catch {
        // Still used by a restored sandbox: kept until a later prune.
      }
    }
    const known = new Set((await this.list()).map((snapshot) => snapshot.id));
    let entries: string[] = [];
    try {
      entries = await readdir(this.deps.dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      if (SNAPSHOT_ID_PATTERN.test(entry) && !known.has(entry)) {
        await rm(join(this.deps.dir, entry), { recursive: true, force: true });
      }
    }
  }
}
