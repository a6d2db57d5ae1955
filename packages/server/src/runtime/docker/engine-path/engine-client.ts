/**
 * The Engine API path: everything DockerRuntime needs inside a sandbox (exec, files, tmpfs archives) without the
 * burrow-agent, through `docker exec` of the image's own shell and tools. Used when the agent binary is missing or
 * the engine is not on this host (DOCKER_HOST over tcp:// or ssh://), where the agent cannot be bind-mounted.
 *
 * What it needs from an image: /bin/sh, and for files stat, cat, readlink, mkdir, rm, mv, chmod (and tar for
 * snapshots of tmpfs contents) -- busybox or coreutils. An image without a shell is refused at create.
 */
import type { Readable } from 'node:stream';
import type Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import type { ProcessHandle } from '../../exec-support.js';
import type { ExecOptions } from '../../runtime.js';
import { dockerStatus } from '../docker-errors.js';
import { EngineFiles, type ExecTarget } from './engine-files.js';
import { startEngineProcess } from './engine-process.js';

export type { ExecTarget } from './engine-files.js';

/** The shell every exec of this path runs. */
export const ENGINE_SHELL = '/bin/sh';

export class EngineClient {
  readonly files: EngineFiles;

  constructor(private readonly docker: Dockerode) {
    this.files = new EngineFiles(docker);
  }

  /** Starts a user command (see engine-process.ts for how timeouts and signals reach it). */
  exec(target: ExecTarget, options: ExecOptions): Promise<ProcessHandle> {
    return startEngineProcess(this.docker, target, options);
  }

  /** tmpfs archives for snapshots, as tar streams. */
  archiver(target: ExecTarget): {
    archive(path: Buffer): Promise<Readable>;
    unpack(path: Buffer, archive: AsyncIterable<Uint8Array>): Promise<number>;
  } {
    return {
      archive: (path) => this.files.archive(target, path),
      unpack: (path, archive) => this.files.unpack(target, path, archive),
    };
  }

  /**
   * Refuses an image without /bin/sh: this path runs every command and file operation through it. Checked on the
   * created (not yet started) container through the archive API, which sees the image's filesystem.
   */
  async checkShell(container: string, image: string): Promise<void> {
    try {
      await this.docker.getContainer(container).infoArchive({ path: ENGINE_SHELL });
    } catch (error) {
      if (dockerStatus(error) !== 404) return; // cannot tell: let the first exec say what is wrong
      throw new BurrowError(
        'NOT_SUPPORTED',
        `image "${image}" has no ${ENGINE_SHELL}: without the burrow-agent (the Engine API path, used when the agent ` +
          'binary is missing or Docker is not on this host), Burrow runs commands and file operations through the ' +
          "image's shell. Use an image with a shell (busybox is enough), or run burrow serve with the agent: a build " +
          'with a C toolchain and a local Docker engine',
        { image },
      );
    }
  }
}
