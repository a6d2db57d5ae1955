/**
 * envd, the in-sandbox daemon of E2B, served on the host for every sandbox: the Connect services (JSON or binary,
 * unary and streaming, framed by @connectrpc/connect-node) and, for any other path, the plain-HTTP part
 * (files-http.ts). The endpoint's routing has already picked the sandbox; this checks its access token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Code, ConnectError, createContextValues, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../logger.js';
import type { AccessTokens } from '../access.js';
import { Filesystem } from '../gen/filesystem/filesystem_pb.js';
import { Process } from '../gen/process/process_pb.js';
import { toConnectError } from './connect-errors.js';
import { sandboxOf, targetKey } from './context.js';
import { buildFilesHttp } from './files-http.js';
import { filesystemService } from './filesystem-service.js';
import { processService } from './process-service.js';
import { SandboxHomes } from './users.js';
import { Watchers } from './watchers.js';

/** Largest Connect message accepted (input for a process, a path): far above any the SDKs send. */
const READ_MAX_BYTES = 16 * 1024 * 1024;

export interface EnvdOptions {
  engine: Engine;
  tokens: AccessTokens;
  logger: Logger;
  maxFileBytes: number;
  /** Ends open streams when the endpoint shuts down. */
  shutdownSignal: AbortSignal;
}

export interface Envd {
  /** Serves a request for `sandboxId`'s envd. */
  handle(sandboxId: string, request: IncomingMessage, response: ServerResponse): void;
  close(): Promise<void>;
}

export async function createEnvd(options: EnvdOptions): Promise<Envd> {
  const { engine, tokens, logger } = options;
  const targets = new WeakMap<IncomingMessage, string>();
  const homes = new SandboxHomes(engine);
  const watchers = new Watchers();

  const files = await buildFilesHttp({
    engine,
    homes,
    tokens,
    logger,
    maxFileBytes: options.maxFileBytes,
    sandboxOf: (request) => targets.get(request),
  });

  const authorize: Interceptor = (next) => async (request) => {
    const token = request.header.get('x-access-token');
    if (token === null) {
      throw new ConnectError(
        'missing X-Access-Token: send the envdAccessToken of the sandbox',
        Code.Unauthenticated,
      );
    }
    if (!tokens.verify(sandboxOf({ values: request.contextValues }), token)) {
      throw new ConnectError('invalid X-Access-Token for this sandbox', Code.Unauthenticated);
    }
    return next(request);
  };

  /** Every failure leaves as a Connect error with a code the SDKs map; unknown ones are logged, not shown. */
  const errors: Interceptor = (next) => async (request) => {
    const fail = (error: unknown): never => {
      const connect = toConnectError(error);
      if (connect.code === Code.Internal)
        logger.error({ err: error, method: request.method.name }, 'envd call failed');
      throw connect;
    };
    try {
      const response = await next(request);
      if (!response.stream) return response;
      const message = response.message;
      return {
        ...response,
        message: (async function* () {
          try {
            yield* message;
          } catch (error) {
            fail(error);
          }
        })(),
      };
    } catch (error) {
      return fail(error);
    }
  };

  const handler = connectNodeAdapter({
    routes: (router) => {
      router.service(Process, processService({ engine, homes, logger }));
      router.service(Filesystem, filesystemService({ engine, homes, watchers }));
    },
    grpc: false,
    grpcWeb: false,
    readMaxBytes: READ_MAX_BYTES,
    shutdownSignal: options.shutdownSignal,
    interceptors: [errors, authorize],
    contextValues: (request) =>
      createContextValues().set(targetKey, { sandboxId: targets.get(request as IncomingMessage) ?? '' }),
    fallback: (request, response) => files.routing(request as IncomingMessage, response as ServerResponse),
  });

  return {
    handle(sandboxId, request, response) {
      targets.set(request, sandboxId);
      handler(request, response);
    },
    async close() {
      await watchers.closeAll();
      await files.close();
    },
  };
}
