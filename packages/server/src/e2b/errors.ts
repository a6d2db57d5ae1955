/** E2B's error body, `{code, message}` with the HTTP status as the code, for the control plane and envd HTTP. */
import { isBurrowError } from '@burrow/protocol';

export interface E2bErrorBody {
  code: number;
  message: string;
}

export function e2bErrorBody(status: number, message: string): E2bErrorBody {
  return { code: status, message };
}

/** The status and body of any error a handler throws; unknown errors are a 500 that says nothing internal. */
export function e2bError(error: unknown): { status: number; body: E2bErrorBody; internal: boolean } {
  if (isBurrowError(error))
    return { status: error.status, body: e2bErrorBody(error.status, error.message), internal: false };
  const fastify = error as { code?: unknown; statusCode?: unknown; message?: unknown };
  if (
    typeof fastify.code === 'string' &&
    fastify.code.startsWith('FST_') &&
    typeof fastify.statusCode === 'number' &&
    fastify.statusCode < 500
  ) {
    return {
      status: fastify.statusCode,
      body: e2bErrorBody(fastify.statusCode, String(fastify.message)),
      internal: false,
    };
  }
  return { status: 500, body: e2bErrorBody(500, 'internal error'), internal: true };
}
