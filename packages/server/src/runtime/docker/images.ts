/** Images a sandbox runs: found locally, pulled when a registry answers, otherwise a clear IMAGE_NOT_FOUND. */
import type Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import type { PullProgress } from '../runtime.js';
import type { ImageDefaults } from './create-spec.js';
import { dockerMessage, dockerStatus, fromDockerError } from './docker-errors.js';

function defaultsOf(inspect: Dockerode.ImageInspectInfo): ImageDefaults {
  const config = inspect.Config as Partial<Dockerode.ImageInspectInfo['Config']> | undefined;
  const asList = (value: unknown): string[] =>
    Array.isArray(value) ? (value as string[]) : typeof value === 'string' ? [value] : [];
  return {
    user: config?.User ?? '',
    entrypoint: asList(config?.Entrypoint),
    cmd: asList(config?.Cmd),
  };
}

export async function inspectImage(
  docker: Dockerode,
  image: string,
): Promise<Dockerode.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(image).inspect();
  } catch (error) {
    if (dockerStatus(error) === 404) return undefined;
    throw fromDockerError(error, `inspecting image ${image}`);
  }
}

function pull(
  docker: Dockerode,
  image: string,
  onProgress?: (progress: PullProgress) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    docker.pull(image, (error: unknown, stream: NodeJS.ReadableStream | undefined) => {
      if (error !== null && error !== undefined) {
        reject(error instanceof Error ? error : new Error(dockerMessage(error)));
        return;
      }
      if (stream === undefined) {
        reject(new Error('no pull stream'));
        return;
      }
      docker.modem.followProgress(
        stream,
        (finishError: Error | null) => (finishError === null ? resolve() : reject(finishError)),
        (event: {
          id?: string;
          status?: string;
          progressDetail?: { current?: number; total?: number };
          error?: string;
        }) => {
          if (event.error !== undefined) return;
          const progress: PullProgress = { image, status: event.status ?? '' };
          if (event.id !== undefined) progress.layer = event.id;
          if (event.progressDetail?.current !== undefined) progress.current = event.progressDetail.current;
          if (event.progressDetail?.total !== undefined) progress.total = event.progressDetail.total;
          onProgress?.(progress);
        },
      );
    });
  });
}

/** Makes sure `image` is present, pulling it if needed, and returns its default user, entrypoint and command. */
export async function ensureImage(
  docker: Dockerode,
  image: string,
  onProgress?: (progress: PullProgress) => void,
): Promise<ImageDefaults> {
  const local = await inspectImage(docker, image);
  if (local !== undefined) return defaultsOf(local);
  try {
    await pull(docker, image, onProgress);
  } catch (error) {
    throw new BurrowError(
      'IMAGE_NOT_FOUND',
      `image "${image}" is not on this Docker host and could not be pulled (${dockerMessage(error).split('\n')[0]}): ` +
        `build it (docker build -t ${image} .), load or import it (docker load / docker import), ` +
        'or for the default image run "burrow image build"',
      { image },
      { cause: error },
    );
  }
  const pulled = await inspectImage(docker, image);
  if (pulled === undefined)
    throw new BurrowError('IMAGE_NOT_FOUND', `image "${image}" is missing after pulling it`);
  return defaultsOf(pulled);
}

/** How long an image's defaults are reused without asking the engine again (a burst of creates asks once). */
const DEFAULTS_TTL_MS = 5_000;

/** ensureImage, remembered briefly per image reference; a failure is not remembered. */
export class ImageDefaultsCache {
  private readonly entries = new Map<string, { at: number; defaults: Promise<ImageDefaults> }>();

  constructor(private readonly docker: Dockerode) {}

  get(image: string, onProgress?: (progress: PullProgress) => void): Promise<ImageDefaults> {
    const now = Date.now();
    const entry = this.entries.get(image);
    if (entry !== undefined && now - entry.at < DEFAULTS_TTL_MS) return entry.defaults;
    const defaults = ensureImage(this.docker, image, onProgress);
    this.entries.set(image, { at: now, defaults });
    defaults.catch(() => this.entries.delete(image));
    if (this.entries.size > 256) this.entries.delete(this.entries.keys().next().value as string);
    return defaults;
  }

  /** The engine said the image is gone: ask again next time. */
  forget(image: string): void {
    this.entries.delete(image);
  }
}
