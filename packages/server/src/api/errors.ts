/**
 * The one error handler and the not-found handler. Every failure leaves as `{"error": "<message>", "code":
 * "<CODE>", ...details}` with the status of its code. Errors Burrow did not anticipate are logged and become a 500
 * whose body says nothing about the internals.
 */
import { BurrowError, ERROR_STATUS, errorBody, isBurrowError, type ErrorCode } from '@burrow/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RouteRegistry } from './route-registry.js';

export interface ErrorLimits {
  maxJsonBytes: number;
  maxFileBytes: number;
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'BAD_REQUEST',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};

export function fileTooLarge(maxFileBytes: number): BurrowError {
  return new BurrowError('PAYLOAD_TOO_LARGE', `file exceeds the ${maxFileBytes} byte limit`, {
    limit: maxFileBytes,
  });
}

function fastifyCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps anything thrown to a BurrowError; undefined means "unexpected" (log it, answer 500). */
export function toBurrowError(error: unknown, limits: ErrorLimits): BurrowError | undefined {
  if (isBurrowError(error)) return error;
  const code = fastifyCode(error);
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BurrowError(
        'PAYLOAD_TOO_LARGE',
        `request body exceeds the ${limits.maxJsonBytes} byte limit for JSON bodies`,
        {
          limit: limits.maxJsonBytes,
        },
      );
    case 'FST_REQ_FILE_TOO_LARGE':
      return fileTooLarge(limits.maxFileBytes);
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return new BurrowError(
        'PAYLOAD_TOO_LARGE',
        `multipart form has too many parts (${message}): send one "file" part and a "path" field`,
      );
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new BurrowError(
        'BAD_REQUEST',
        'failed to parse multipart form: send Content-Type multipart/form-data',
      );
    case 'FST_MP_PREMATURE_CLOSE':
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return new BurrowError('BAD_REQUEST', `failed to parse multipart form: ${message}`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new BurrowError(
        'UNSUPPORTED_MEDIA_TYPE',
        'unsupported Content-Type: send JSON (or raw bytes to /files)',
      );
    default:
      break;
  }
  const status = (error as Partial<FastifyError> | null)?.statusCode;
  // Fastify's and the multipart parser's client errors describe the request, not the server: safe to show.
  if (code?.startsWith('FST_') === true && typeof status === 'number' && status >= 400 && status < 500) {
    const mapped = CODE_BY_STATUS[status] ?? 'BAD_REQUEST';
    return new BurrowError(mapped, mapped === 'BAD_REQUEST' ? `invalid request body: ${message}` : message);
  }
  return undefined;
}

export function sendError(reply: FastifyReply, error: BurrowError): FastifyReply {
  return reply.code(ERROR_STATUS[error.code]).type('application/json; charset=utf-8').send(errorBody(error));
}

const INTERNAL = new BurrowError('INTERNAL', 'internal error');

/** True when the client is gone, so there is nobody to answer. */
function clientGone(request: FastifyRequest): boolean {
  return request.raw.destroyed || request.raw.socket.destroyed;
}

export function installErrorHandling(app: FastifyInstance, routes: RouteRegistry, limits: ErrorLimits): void {
  app.setErrorHandler((error, request, reply) => {
    const mapped = toBurrowError(error, limits);
    if (mapped === undefined) {
      if (clientGone(request)) request.log.debug({ err: error }, 'request ended after the client went away');
      else request.log.error({ err: error }, 'unexpected error');
      return sendError(reply, INTERNAL);
    }
    if (mapped.status >= 500 && mapped.code !== 'NOT_SUPPORTED')
      request.log.error({ err: error }, `request failed: ${mapped.code}`);
    return sendError(reply, mapped);
  });

  app.setNotFoundHandler((request, reply) => {
    const url = request.raw.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    const allowed = routes.methodsFor(path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(
        reply,
        new BurrowError(
          'METHOD_NOT_ALLOWED',
          `method ${request.method} is not allowed on ${path}: use ${allowed.join(' or ')}`,
          {
            allowed,
          },
        ),
      );
    }
    return sendError(
      reply,
      new BurrowError('ROUTE_NOT_FOUND', `no route ${request.method} ${path}: see /api/v1/openapi.json`),
    );
  });
}
