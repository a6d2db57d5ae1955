/**
 * The default sandbox image (`burrow/default:latest`, images/default/Dockerfile). Built FROM debian:bookworm-slim
 * when a registry answers, else FROM a Debian base made locally with debootstrap, so a fresh machine without
 * any registry still gets one. Another build context (sandbox.default_image_context) is built as it is.
 * The build reports which step of how many, the package apt is on, and the time, to a progress display.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { logProgress, type Progress, type ProgressFactory } from '../progress/progress.js';
import { inspectImage } from '../runtime/docker/images.js';
import { dockerMessage } from '../runtime/docker/docker-errors.js';
import { formatElapsed } from '../util/format.js';
import { BuildProgressParser, buildFields, describeBuild } from './build-progress.js';
import { PullProgressParser, type PullEvent } from './pull-progress.js';

/** The image Burrow builds itself; any other default image is pulled like a user's image. */
export const DEFAULT_IMAGE = 'burrow/default:latest';
export const REGISTRY_BASE = 'debian:bookworm-slim';
export const LOCAL_BASE = 'burrow/debian-base:bookworm';

const IMAGES_DIR =
  ['../../../../images', '../../../images']
    .map((path) => fileURLToPath(new URL(path, import.meta.url)))
    .find((path) => existsSync(path)) ?? '';

/** How many lines of build output a failure quotes. */
const TAIL_LINES = 20;

export interface DefaultImageOptions {
  image: string;
  logger: Logger;
  docker?: Dockerode;
  /** Rebuild even when the image exists. */
  force?: boolean;
  /** A directory with a Dockerfile to build instead of images/default (built as it is, without a BASE choice). */
  context?: string;
  /** Another of Burrow's own images: the folder under images/ (e.g. `code-interpreter`), built like the default. */
  recipe?: string;
  /** Shows the build's progress (default: log lines at an interval). */
  progress?: ProgressFactory;
  /** Each raw line of build output (for `burrow image build --verbose`). */
  onOutput?: (line: string) => void;
}

/** Whether `burrow serve` builds the configured default image when it is missing. */
export function buildsDefaultImage(config: Config): boolean {
  const { sandbox } = config;
  return (
    sandbox.build_default_image &&
    (sandbox.default_image === DEFAULT_IMAGE || sandbox.default_image_context !== '')
  );
}

async function pullBase(
  docker: Dockerode,
  image: string,
  progress: Progress,
  timeoutMs: number,
): Promise<boolean> {
  const signal = AbortSignal.timeout(timeoutMs);
  const parser = new PullProgressParser();
  try {
    const stream = (await docker.pull(image, { abortSignal: signal })) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error === null ? resolve() : reject(error)),
        (event: { id?: string; status?: string; progressDetail?: { current?: number; total?: number } }) => {
          const pull: PullEvent = { ...event, ...event.progressDetail };
          if (parser.push(pull)) progress.update(`pulling ${image}: ${parser.describe()}`, parser.fields());
        },
      ),
    );
    return true;
  } catch {
    return false;
  }
}

/** The image to build FROM: the registry's Debian when reachable, otherwise a local debootstrap one. */
async function chooseBase(
  docker: Dockerode,
  options: DefaultImageOptions,
  progress: Progress,
): Promise<string> {
  if ((await inspectImage(docker, REGISTRY_BASE)) !== undefined) return REGISTRY_BASE;
  if ((await inspectImage(docker, LOCAL_BASE)) !== undefined) return LOCAL_BASE;
  progress.update(`pulling ${REGISTRY_BASE}`);
  if (await pullBase(docker, REGISTRY_BASE, progress, 60_000)) return REGISTRY_BASE;
  options.logger.info(
    { base: LOCAL_BASE },
    `no registry answers: building a Debian base with debootstrap (about a minute)`,
  );
  progress.update(`no registry answers: making ${LOCAL_BASE} with debootstrap (about a minute)`);
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

interface BuildInput {
  context: string;
  buildargs: Record<string, string>;
}

function build(
  docker: Dockerode,
  image: string,
  input: BuildInput,
  options: DefaultImageOptions,
  progress: Progress,
) {
  const parser = new BuildProgressParser();
  const tail: string[] = [];
  const output = (text: string) => {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onOutput?.(line);
    }
    if (parser.push(text)) progress.update(describeBuild(parser.current()), buildFields(parser.current()));
  };
  return new Promise<void>((resolve, reject) => {
    const fail = (message: string) =>
      reject(new Error(`${message}\n${tail.map((line) => `  | ${line}`).join('\n')}`));
    docker
      .buildImage(
        // Every file of the folder (a recipe may copy more than its Dockerfile into the image).
        { context: input.context, src: readdirSync(input.context).filter((name) => !name.startsWith('.')) },
        { t: image, buildargs: input.buildargs, rm: true, forcerm: true },
      )
      .then((stream) => {
        docker.modem.followProgress(
          stream,
          (error: Error | null, events: { error?: string }[] | undefined) => {
            const failed = events?.find((entry) => entry.error !== undefined);
            if (error !== null) fail(error.message);
            else if (failed !== undefined) fail(failed.error ?? 'the build failed');
            else resolve();
          },
          (event: { stream?: string; status?: string }) => {
            const text = event.stream ?? (event.status === undefined ? undefined : `${event.status}\n`);
            if (text !== undefined) output(text);
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
  const custom = options.context !== undefined && options.context !== '';
  const recipe = options.recipe ?? 'default';
  const context = custom ? options.context! : `${IMAGES_DIR}/${recipe}`;
  if (!existsSync(`${context}/Dockerfile`)) {
    throw new BurrowError(
      'IMAGE_NOT_FOUND',
      `image "${options.image}" is missing and there is no Dockerfile to build it from in ${custom ? context : `images/${recipe}`}`,
    );
  }
  const started = Date.now();
  const title = custom ? `building ${options.image}` : `building ${options.image} (a few minutes, once)`;
  const progress = (options.progress ?? logProgress(options.logger))(title, { image: options.image });
  try {
    const buildargs = custom ? {} : { BASE: await chooseBase(docker, options, progress) };
    await build(docker, options.image, { context, buildargs }, options, progress);
  } catch (error) {
    progress.end(false, `building ${options.image} failed after ${formatElapsed(Date.now() - started)}`);
    if (error instanceof BurrowError) throw error;
    throw new BurrowError(
      'INTERNAL',
      `building ${options.image} failed: ${dockerMessage(error)}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  progress.end(true, `built ${options.image} in ${formatElapsed(Date.now() - started)}`);
}
