/**
 * Files: read, write, delete, list, stat, mkdir and download, each with `?path=` (raw bytes kept). Bodies stream
 * both ways, so the file size is bounded by `maxFileBytes`, not by memory.
 */
import { Readable } from 'node:stream';
import { isBurrowError } from '@burrow/protocol';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { FileRead, SandboxPath } from '../../runtime/runtime.js';
import { exactLength, limitBytes } from '../byte-limit.js';
import type { ApiContext } from '../context.js';
import { watchDisconnect } from '../disconnect.js';
import { fileTooLarge } from '../errors.js';
import { baseName, queryPath } from '../query-path.js';
import { fileInfoToWire } from '../wire.js';
import { uploadRoute } from './files-upload.js';
import type { IdParams } from './sandboxes.js';

const FILES = '/api/v1/sandboxes/:id/files';
/** Set on a directory listing that was cut at the server's limit. */
export const TRUNCATED_HEADER = 'burrow-truncated';

/**
 * A known size is promised in Content-Length and held to exactly; a file whose size the kernel does not report
 * (procfs, sysfs) goes out chunked, read to its end but never past `maxBytes`.
 */
function sendFile(reply: FastifyReply, file: FileRead, maxBytes: number): FastifyReply {
  reply.header('content-type', 'application/octet-stream');
  if (file.sizeExact) {
    reply.header('content-length', String(file.info.size));
    return reply.send(exactLength(file.body, file.info.size));
  }
  const limited = limitBytes(file.body, maxBytes, () => fileTooLarge(maxBytes));
  return reply.send(Readable.from(limited, { objectMode: false }));
}

/** Den's rule: the basename with every character outside [A-Za-z0-9_.-] replaced by `_`, `download` if empty. */
export function contentDisposition(path: SandboxPath): string {
  const name = baseName(path).toString('utf8');
  const safe = [...name].map((char) => (/^[A-Za-z0-9_.-]$/.test(char) ? char : '_')).join('') || 'download';
  if (safe === name || name === '' || name.includes('\uFFFD')) return `attachment; filename="${safe}"`;
  // The real name too, for clients that read RFC 6266's filename*.
  return `attachment; filename="${safe}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function fileRoutes(app: FastifyInstance, context: ApiContext): void {
  const { engine } = context;

  app.get<{ Params: IdParams }>(FILES, async (request, reply) => {
    return sendFile(
      reply,
      await engine.readFile(request.params.id, queryPath(request)),
      context.maxFileBytes,
    );
  });

  app.get<{ Params: IdParams }>(`${FILES}/download`, async (request, reply) => {
    const path = queryPath(request);
    const file = await engine.readFile(request.params.id, path);
    reply.header('content-disposition', contentDisposition(path));
    return sendFile(reply, file, context.maxFileBytes);
  });

  app.delete<{ Params: IdParams }>(FILES, { config: { ignoreBody: true } }, async (request) => {
    try {
      await engine.removeFile(request.params.id, queryPath(request));
    } catch (error) {
      // Den removes with `rm -rf`: deleting what is not there succeeds, and clients rely on that.
      if (!isBurrowError(error, 'FILE_NOT_FOUND')) throw error;
    }
    return { success: true };
  });

  // Den's body is the array itself, so a listing cut at `server.max_list_entries` says so in a header.
  app.get<{ Params: IdParams }>(`${FILES}/list`, async (request, reply) => {
    const listing = await engine.listDir(request.params.id, queryPath(request, '/'));
    if (listing.truncated) reply.header(TRUNCATED_HEADER, 'true');
    return listing.entries.map(fileInfoToWire);
  });

  app.get<{ Params: IdParams }>(`${FILES}/stat`, async (request) =>
    fileInfoToWire(await engine.stat(request.params.id, queryPath(request))),
  );

  app.post<{ Params: IdParams }>(`${FILES}/mkdir`, { config: { ignoreBody: true } }, async (request) => {
    await engine.mkdir(request.params.id, queryPath(request));
    return { success: true };
  });

  // Raw writes take any Content-Type and stream the body straight into the sandbox: this context replaces the
  // JSON parser with one that hands the request stream over unread.
  void app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    raw.put<{ Params: IdParams }>(FILES, async (request, reply) => {
      const path = queryPath(request);
      const max = context.maxFileBytes;
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > max) throw fileTooLarge(max);
      const body = request.body as Readable | undefined;
      let exceeded = false;
      const tooLarge = () => {
        exceeded = true;
        return fileTooLarge(max);
      };
      const data = body === undefined ? Buffer.alloc(0) : limitBytes(body, max, tooLarge);
      const disconnect = watchDisconnect(reply);
      try {
        const { bytes } = await engine.writeFile(request.params.id, path, data, {
          signal: disconnect.signal,
        });
        return { success: true, bytes };
      } catch (error) {
        if (exceeded) throw fileTooLarge(max);
        throw error;
      } finally {
        disconnect.dispose();
      }
    });
  });

  void app.register(async (multipart) => uploadRoute(multipart, context));
}
