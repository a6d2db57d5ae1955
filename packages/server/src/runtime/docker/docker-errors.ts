import { BurrowError, isBurrowError, type ErrorCode } from '@burrow/protocol';

interface DockerLikeError {
  statusCode?: number;
  code?: string;
  json?: { message?: string } | null;
  reason?: string;
  message?: string;
}

export function dockerStatus(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null ? (error as DockerLikeError).statusCode : undefined;
}

/** The daemon's own message for a failed Engine API call. */
export function dockerMessage(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const docker = error as DockerLikeError;
  return docker.json?.message ?? docker.reason ?? docker.message ?? 'unknown Docker error';
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT']);

/**
 * Maps an Engine API failure to a BurrowError. `notFound` is the code for a 404 (which resource was missing
 * depends on the call); anything unexpected becomes INTERNAL with the daemon's message kept as the cause.
 */
export function fromDockerError(
  error: unknown,
  what: string,
  notFound?: ErrorCode,
  notFoundMessage?: string,
): BurrowError {
  if (isBurrowError(error)) return error;
  const status = dockerStatus(error);
  const code = typeof error === 'object' && error !== null ? (error as DockerLikeError).code : undefined;
  if (status === 404 && notFound !== undefined) {
    return new BurrowError(notFound, notFoundMessage ?? `${what}: not found`, undefined, { cause: error });
  }
  if (code !== undefined && UNREACHABLE.has(code) && status === undefined) {
    return new BurrowError(
      'RUNTIME_UNAVAILABLE',
      `the Docker engine is not reachable (${code}): start dockerd or set DOCKER_HOST`,
      undefined,
      { cause: error },
    );
  }
  if (status === 409)
    return new BurrowError('CONFLICT', `${what}: ${dockerMessage(error)}`, undefined, { cause: error });
  return new BurrowError('INTERNAL', `${what}: ${dockerMessage(error)}`, undefined, { cause: error });
}

/** Docker refuses a memory limit under 6 MiB (at create and on update); say so before asking it. */
export function checkMemoryLimit(bytes: number): void {
  if (bytes > 0 && bytes < 6 * 1024 * 1024) {
    throw new BurrowError('VALIDATION_FAILED', 'memory limit must be at least 6 MiB (Docker refuses less)');
  }
}
