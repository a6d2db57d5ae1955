/**
 * One process started through the Engine API (`docker exec`): create, start with a hijacked connection, demux
 * its output, feed its stdin, and read its exit code from ExecInspect once the output has ended.
 */
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import { dockerMessage, dockerStatus, fromDockerError } from '../docker-errors.js';
import { demuxDockerStream, type OutputChunk } from './demux.js';

export interface RawExecOptions {
  cmd: string[];
  /** `K=V` entries added to (and overriding) the container's environment. */
  env?: string[];
  /** Docker's `User`; absent = the container's user. */
  user?: string;
  /** Attach stdin (otherwise the process reads /dev/null). */
  stdin?: boolean;
}

export interface RawExec {
  /** Output in the order the engine sent it; ends when the process and every holder of its pipes are done. */
  readonly output: AsyncIterable<OutputChunk>;
  write(data: Uint8Array): Promise<void>;
  /** Closes the process's stdin (half-close of the hijacked connection). */
  end(): Promise<void>;
  /** The exit code, once `output` has ended. */
  exitCode(): Promise<number>;
  /** Drops the connection; the process itself keeps running (the engine never kills an exec). */
  destroy(): void;
}

/** How long ExecInspect may still say "running" after the output ended. */
const EXIT_WAIT_MS = 10_000;

/** The sandbox behind a failed exec create/start: gone (404) or not running (409). */
export function execFailure(error: unknown, sandbox: string): BurrowError {
  const status = dockerStatus(error);
  if (status === 404)
    return new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found', undefined, { cause: error });
  // 409 from exec create; a container that stops between create and start answers 500 "container not running".
  if (status === 409 || /not running/i.test(dockerMessage(error))) {
    const paused = /paused/i.test(dockerMessage(error));
    return new BurrowError(
      'SANDBOX_NOT_RUNNING',
      `sandbox ${sandbox} is ${paused ? 'paused' : 'not running'}: start it first`,
      undefined,
      { cause: error },
    );
  }
  return fromDockerError(error, `running a process in sandbox ${sandbox}`);
}

export async function startRawExec(
  docker: Dockerode,
  container: string,
  sandbox: string,
  options: RawExecOptions,
): Promise<RawExec> {
  const create: Dockerode.ExecCreateOptions = {
    Cmd: options.cmd,
    AttachStdin: options.stdin === true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  };
  if (options.env !== undefined && options.env.length > 0) create.Env = options.env;
  if (options.user !== undefined && options.user !== '') create.User = options.user;
  let exec: Dockerode.Exec;
  let socket: Duplex;
  try {
    exec = await docker.getContainer(container).exec(create);
    socket = (await exec.start({ hijack: true, stdin: options.stdin === true })) as Duplex;
  } catch (error) {
    throw execFailure(error, sandbox);
  }
  let destroyed = false;
  // A late error on a dropped connection must not become an unhandled 'error' event.
  socket.on('error', () => undefined);

  async function* output(): AsyncGenerator<OutputChunk> {
    try {
      yield* demuxDockerStream(socket);
    } catch (error) {
      if (!destroyed)
        throw new BurrowError('INTERNAL', `the connection to sandbox ${sandbox} broke`, undefined, {
          cause: error,
        });
    }
    if (destroyed) throw new BurrowError('INTERNAL', 'the process stream was closed');
  }

  return {
    output: output(),
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        if (socket.destroyed || socket.writableEnded) {
          reject(new BurrowError('INTERNAL', 'the process has closed its input'));
          return;
        }
        socket.write(data, (error) => (error ? reject(error) : resolve()));
      }),
    end: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed || socket.writableEnded) {
          resolve();
          return;
        }
        socket.end(() => resolve());
      }),
    exitCode: async () => {
      const deadline = Date.now() + EXIT_WAIT_MS;
      for (let attempt = 0; ; attempt += 1) {
        let info: Dockerode.ExecInspectInfo;
        try {
          info = await exec.inspect();
        } catch (error) {
          throw execFailure(error, sandbox);
        }
        if (!info.Running) return info.ExitCode ?? -1;
        if (Date.now() > deadline) {
          throw new BurrowError(
            'INTERNAL',
            `the engine did not report the exit of a process in sandbox ${sandbox}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(5 * (attempt + 1), 50)));
      }
    },
    destroy: () => {
      destroyed = true;
      socket.destroy();
    },
  };
}

/** Runs a process to its end and keeps its output (for the small helper scripts of the Engine API path). */
export async function collectRawExec(
  exec: RawExec,
): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  for await (const chunk of exec.output) (chunk.stream === 'stdout' ? stdout : stderr).push(chunk.data);
  return { exitCode: await exec.exitCode(), stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
}
