/**
 * envd's plain-HTTP part: `GET /health`, and `GET /files` / `POST /files` for file bodies (the Connect services
 * cover everything else). Uploads are multipart, where each part's filename is its destination path (or `?path=`
 * names it), or a raw body (`application/octet-stream`, optionally gzip). Every request but /health needs the
 * sandbox's access token, or a signature made from it (E2B's signed upload and download URLs).
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import multipart, { type Multipart } from '@fastify/multipart';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../logger.js';
import type { AccessTokens, FileOperation } from '../access.js';
import { e2bError, e2bErrorBody } from '../errors.js';
import { restEntry, type RestEntry } from './entry.js';
import { fileTooLarge, limitBytes, readAs, writeAs } from './file-transfer.js';
import { execUser, type SandboxHomes } from './users.js';

export interface FilesHttpOptions {
  engine: Engine;
  homes: SandboxHomes;
  tokens: AccessTokens;
  logger: Logger;
  maxFileBytes: number;
  /** The sandbox a request is for (set by the endpoint's routing before it hands the request over). */
  sandboxOf: (request: IncomingMessage) => string | undefined;
  /** Seconds since the epoch (signature expiry). */
  nowSeconds?: () => number;
}

interface FilesQuery {
  path?: string;
  username?: string;
  signature?: string;
  signature_expiration?: string;
}

const MAX_PARTS = 1000;

function single(value: unknown): string | undefined {
  if (Array.isArray(value)) return single(value[0]);
  return typeof value === 'string' ? value : undefined;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of stream) {
    // discarded
  }
}

export async function buildFilesHttp(options: FilesHttpOptions): Promise<FastifyInstance> {
  const { engine, homes, tokens, maxFileBytes } = options;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });

  app.setErrorHandler((error, request, reply) => {
    const { status, body, internal } = e2bError(error);
    if (internal) options.logger.error({ err: error, url: request.url.split('?')[0] }, 'envd request failed');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send(e2bErrorBody(404, `${request.method} ${request.url.split('?')[0]} is not an envd route`)),
  );

  app.removeAllContentTypeParsers();
  // Raw bodies stream straight into the sandbox: the parser hands the request stream over unread.
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  await app.register(multipart, {
    limits: {
      fileSize: maxFileBytes + 1,
      files: MAX_PARTS,
      parts: MAX_PARTS,
      fields: 100,
      fieldSize: 64 * 1024,
    },
    throwFileSizeLimit: false,
    // E2B puts each file's full destination path in its part's filename: keep it whole.
    preservePath: true,
  });

  const sandbox = (request: FastifyRequest): string => {
    const id = options.sandboxOf(request.raw);
    if (id === undefined) throw new Error('envd request without a sandbox target');
    return id;
  };

  /** The access token, or a signature over path, operation and user; 401 otherwise. */
  const authorize = (request: FastifyRequest, operation: FileOperation): void => {
    const sandboxId = sandbox(request);
    const query = request.query as FilesQuery;
    const token = single(request.headers['x-access-token']);
    if (token !== undefined && tokens.verify(sandboxId, token)) return;
    const signature = single(query.signature);
    if (signature !== undefined) {
      const expiration = single(query.signature_expiration);
      const ok = tokens.verifySignature(
        sandboxId,
        {
          path: single(query.path) ?? '',
          operation,
          user: single(query.username) ?? '',
          signature,
          ...(expiration === undefined ? {} : { expiration: Number(expiration) }),
        },
        nowSeconds(),
      );
      if (ok) return;
      throw new BurrowError('UNAUTHORIZED', 'the signature is invalid or has expired: make a new URL');
    }
    throw new BurrowError(
      'UNAUTHORIZED',
      token === undefined
        ? 'missing X-Access-Token: send the envdAccessToken of the sandbox'
        : 'invalid X-Access-Token for this sandbox',
    );
  };

  app.get('/health', async (_request, reply) => reply.status(204).send());

  app.get('/files', async (request, reply) => {
    authorize(request, 'read');
    const sandboxId = sandbox(request);
    const query = request.query as FilesQuery;
    const user = execUser(single(query.username));
    const path = await homes.resolve(sandboxId, single(query.path) ?? '', user);
    const file = await readAs(engine, sandboxId, path, user, maxFileBytes);
    const name = path.split('/').pop() ?? 'download';
    reply.header('content-type', 'application/octet-stream');
    reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`);
    if (file.size !== undefined) reply.header('content-length', String(file.size));
    return reply.send(file.body);
  });

  app.post('/files', async (request, reply) => {
    authorize(request, 'write');
    const sandboxId = sandbox(request);
    const query = request.query as FilesQuery;
    const user = execUser(single(query.username));
    const fromQuery = single(query.path);
    if (Object.keys(request.headers).some((name) => name.toLowerCase().startsWith('x-metadata-'))) {
      throw new BurrowError(
        'NOT_SUPPORTED',
        'file metadata (X-Metadata-* headers) is not supported by this server',
      );
    }
    const written: RestEntry[] = [];
    // A client that goes away mid-upload stops the write (the runtime then keeps nothing of it).
    const gone = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) gone.abort(new Error('the client closed the connection'));
    };
    reply.raw.once('close', onClose);
    const store = async (destination: string, data: AsyncIterable<Uint8Array>) => {
      const path = await homes.resolve(sandboxId, destination, user);
      try {
        await writeAs(engine, sandboxId, path, user, limitBytes(data, maxFileBytes), gone.signal);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('Z_')) {
          throw new BurrowError('BAD_REQUEST', 'the body is not valid gzip (Content-Encoding: gzip)');
        }
        throw error;
      }
      written.push(restEntry(path));
    };
    if (request.isMultipart()) {
      const parts = request.parts();
      for (;;) {
        let next: IteratorResult<Multipart>;
        try {
          next = await parts.next();
        } catch (error) {
          if (isBurrowError(error)) throw error;
          throw new BurrowError(
            'BAD_REQUEST',
            `failed to read the multipart form: ${(error as Error).message}`,
          );
        }
        if (next.done === true) break;
        const part = next.value;
        if (part.type === 'field') continue;
        const destination = fromQuery ?? part.filename;
        if (destination === undefined || destination === '') {
          await drain(part.file);
          throw new BurrowError(
            'BAD_REQUEST',
            'give each file part a filename (its destination path) or ?path=',
          );
        }
        await store(destination, part.file);
        if ((part.file as { truncated?: boolean }).truncated === true) throw fileTooLarge(maxFileBytes);
      }
    } else {
      const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
      if (type !== 'application/octet-stream') {
        throw new BurrowError(
          'UNSUPPORTED_MEDIA_TYPE',
          'send multipart/form-data (a part per file) or application/octet-stream with ?path=',
        );
      }
      if (fromQuery === undefined || fromQuery === '') {
        throw new BurrowError(
          'BAD_REQUEST',
          'path is required for an application/octet-stream upload: add ?path=',
        );
      }
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxFileBytes) throw fileTooLarge(maxFileBytes);
      const raw = (request.body as Readable | undefined) ?? Readable.from([]);
      const encoding = (single(request.headers['content-encoding']) ?? '').toLowerCase();
      if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip') {
        throw new BurrowError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Content-Encoding ${encoding} is not supported: send gzip or none`,
        );
      }
      await store(fromQuery, encoding === 'gzip' ? raw.pipe(createGunzip()) : raw);
    }
    reply.raw.off('close', onClose);
    if (written.length === 0)
      throw new BurrowError('BAD_REQUEST', 'the form had no file parts: send one part per file');
    return reply.status(200).send(written);
  });

  await app.ready();
  return app;
}
