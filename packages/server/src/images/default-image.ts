/**
 * The default sandbox image (`burrow/default:latest`, images/default/Dockerfile). Built FROM debian:bookworm-slim
 * when a registry answers, else FROM a Debian base made locally with debootstrap, so a fresh machine without
 * any registry still gets one. Progress is streamed to the caller.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import type { Logger } from '../logger.js';
import { inspectImage } from '../runtime/docker/images.js';
import { dockerMessage } from '../runtime/docker/docker-errors.js';

/** The image Burrow builds itself; any other default image is pulled like a user's image. */
export const DEFAULT_IMAGE = 'burrow/default:latest';
export const REGISTRY_BASE = 'debian:bookworm-slim';
export const LOCAL_BASE = 'burrow/debian-base:bookworm';

const IMAGES_DIR =
  ['../../../../images', '../../../images']
    .map((path) => fileURLToPath(new URL(path, import.meta.url)))
    .find((path) => existsSync(path)) ?? '';

export interface DefaultImageOptions {
  image: string;
  logger: Logger;
  docker?: Dockerode;
  /** Rebuild even when the image exists. */
  force?: boolean;
  /** Each line of build output. */
  onProgress?: (line: string) => void;
}

async function pullQuietly(docker: Dockerode, image: string, timeoutMs: number): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const stream = (await docker.pull(image, { abortSignal: signal })) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null) =>
        error === null ? resolve() : reject(error),
      ),
    );
    return true;
  } catch {
    return false;
  }
}

/** The image to build FROM: the registry's Debian when reachable, otherwise a local debootstrap one. */
async function chooseBase(docker: Dockerode, options: DefaultImageOptions): Promise<string> {
  if ((await inspectImage(docker, REGISTRY_BASE)) !== undefined) return REGISTRY_BASE;
  if ((await inspectImage(docker, LOCAL_BASE)) !== undefined) return LOCAL_BASE;
  options.onProgress?.(`pulling ${REGISTRY_BASE}\n`);
  if (await pullQuietly(docker, REGISTRY_BASE, 60_000)) return REGISTRY_BASE;
  options.logger.info(
    { base: LOCAL_BASE },
    `no registry answers: building a Debian base with debootstrap (about a minute)`,
  );
  options.onProgress?.(`no registry answers: building ${LOCAL_BASE} with debootstrap\n`);
  try {
    await promisify(execFile)('bash', [`${IMAGES_DIR}/build-test-images.sh`, '--base-only'], {
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    throw new BurrowError(
      'RUNTIME_UNAVAILABLE',
      `could not build the Debian base image: ${(error as Error).message.split('\n')[0]}. Install debootstrap (apt-get install debootstrap) and run as root, or make a registry reachable`,
    );
  }
  return LOCAL_BASE;
}

function build(docker: Dockerode, image: string, base: string, options: DefaultImageOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    docker
      .buildImage(
        { context: `${IMAGES_DIR}/default`, src: ['Dockerfile'] },
        { t: image, buildargs: { BASE: base }, rm: true, forcerm: true },
      )
      .then((stream) => {
        docker.modem.followProgress(
          stream,
          (error: Error | null, output: { error?: string }[] | undefined) => {
            const failed = output?.find((entry) => entry.error !== undefined);
            if (error !== null) reject(error);
            else if (failed !== undefined) reject(new Error(failed.error));
            else resolve();
          },
          (event: { stream?: string; status?: string }) => {
            const line = event.stream ?? (event.status === undefined ? undefined : `${event.status}\n`);
            if (line !== undefined) options.onProgress?.(line);
          },
        );
      })
      .catch(reject);
  });
}

/** Builds the default image when it is missing (or when `force`); resolves once it exists. */
export async function ensureDefaultImage(options: DefaultImageOptions): Promise<void> {
  const docker = options.docker ?? new Dockerode();
  if (!options.force && (await inspectImage(docker, options.image)) !== undefined) return;
  if (IMAGES_DIR === '') {
    throw new BurrowError(
      'IMAGE_NOT_FOUND',
      `image "${options.image}" is missing and the images/ directory to build it is not here`,
    );
  }
  const started = Date.now();
  options.logger.info(
    { image: options.image },
    'building the default sandbox image (first start; a few minutes)',
  );
  const base = await chooseBase(docker, options);
  try {
    await build(docker, options.image, base, options);
  } catch (error) {
    throw new BurrowError(
      'INTERNAL',
      `building ${options.image} failed: ${dockerMessage(error)}`,
      undefined,
      { cause: error },
    );
  }
  options.logger.info(
    { image: options.image, base, seconds: Math.round((Date.now() - started) / 1000) },
    'default sandbox image built',
  );
}
