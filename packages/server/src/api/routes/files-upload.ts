/**
 * `POST /sandboxes/{id}/files/upload`: a multipart form with a `path` field (or `?path=`) and a `file` part. The
 * file part is streamed into the sandbox as it arrives, so the `path` must come before it (form field order, as
 * browsers and `curl -F` send them) or in the query string.
 */
import multipart, { type Multipart } from '@fastify/multipart';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sandboxPathBytes } from '../../runtime/paths.js';
import type { SandboxPath } from '../../runtime/runtime.js';
import { limitBytes } from '../byte-limit.js';
import type { ApiContext } from '../context.js';
import { watchDisconnect } from '../disconnect.js';
import { fileTooLarge } from '../errors.js';
import { rawQueryParam } from '../query-path.js';
import type { IdParams } from './sandboxes.js';

/** Room for boundaries and small fields on top of the file itself when judging Content-Length. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;

/**
 * What a form may hold (docs/api.md). The parser gets one more of each, so that going over shows here as the part
 * arrives, before anything is written; the parser's own limit errors come only after the part that followed.
 */
const FORM_LIMITS = { files: 5, fields: 20, parts: 30, fieldBytes: 64 * 1024 };

function formTooLarge(what: string): BurrowError {
  return new BurrowError(
    'PAYLOAD_TOO_LARGE',
    `multipart form has ${what}: send one "file" part and a "path" field`,
  );
}

function formError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (isBurrowError(error) || (typeof code === 'string' && code.startsWith('FST_'))) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new BurrowError('BAD_REQUEST', `failed to parse multipart form: ${reason}`);
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of stream) {
    // discarded
  }
}

export async function uploadRoute(app: FastifyInstance, context: ApiContext): Promise<void> {
  const max = context.maxFileBytes;
  // busboy truncates silently at its limit; one byte more than ours lets limitBytes see the excess and fail.
  await app.register(multipart, {
    limits: {
      fileSize: max + 1,
      files: FORM_LIMITS.files + 1,
      fields: FORM_LIMITS.fields + 1,
      fieldSize: FORM_LIMITS.fieldBytes,
      parts: FORM_LIMITS.parts + 1,
      headerPairs: 100,
    },
    throwFileSizeLimit: false,
  });

  // Checked before the body is read, so a body that is not a form is answered by what to send, not by the JSON
  // parser's complaint or the JSON size limit.
  const notMultipart = () =>
    new BurrowError(
      'BAD_REQUEST',
      'failed to parse multipart form: send Content-Type multipart/form-data with a "file" part',
    );
  const route = {
    onRequest: async (request: FastifyRequest) => {
      // isMultipart() is only known once the form parser ran; the header is what it goes by.
      if (!/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? '')) throw notMultipart();
    },
  };
  app.post<{ Params: IdParams }>('/api/v1/sandboxes/:id/files/upload', route, async (request, reply) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > max + FORM_OVERHEAD_BYTES) throw fileTooLarge(max);
    if (!request.isMultipart()) throw notMultipart();
    const fromQuery = rawQueryParam(request.raw.url ?? '', 'path');
    let formPath: string | undefined;
    let written: number | undefined;
    let exceeded = false;
    const tooLarge = () => {
      exceeded = true;
      return fileTooLarge(max);
    };
    const disconnect = watchDisconnect(reply);
    const seen = { parts: 0, fields: 0, files: 0 };
    try {
      const parts = request.parts();
      for (;;) {
        let next: IteratorResult<Multipart>;
        try {
          next = await parts.next();
        } catch (error) {
          // Once the file is written, what follows it is ignored (as further file parts are): the answer says
          // what was written rather than refusing a form whose file is already in place.
          if (
            written !== undefined &&
            /^FST_(PARTS|FILES|FIELDS)_LIMIT$/.test(String((error as { code?: unknown }).code))
          )
            break;
          throw exceeded ? fileTooLarge(max) : formError(error);
        }
        if (next.done === true) break;
        const part = next.value;
        if (written === undefined) {
          seen.parts += 1;
          if (part.type === 'field') seen.fields += 1;
          else seen.files += 1;
          if (seen.parts > FORM_LIMITS.parts) throw formTooLarge(`more than ${FORM_LIMITS.parts} parts`);
          if (seen.fields > FORM_LIMITS.fields) throw formTooLarge(`more than ${FORM_LIMITS.fields} fields`);
          if (seen.files > FORM_LIMITS.files) throw formTooLarge(`more than ${FORM_LIMITS.files} file parts`);
        }
        if (part.type === 'field') {
          if (part.valueTruncated || part.fieldnameTruncated) {
            if (written !== undefined) continue;
            throw new BurrowError(
              'PAYLOAD_TOO_LARGE',
              `multipart form field "${part.fieldname.slice(0, 64)}" exceeds the ${FORM_LIMITS.fieldBytes} byte limit`,
              { limit: FORM_LIMITS.fieldBytes },
            );
          }
          if (part.fieldname === 'path' && formPath === undefined) formPath = String(part.value);
          continue;
        }
        if (part.fieldname !== 'file' || written !== undefined) {
          await drain(part.file);
          continue;
        }
        const path: SandboxPath | undefined =
          formPath !== undefined && formPath !== ''
            ? formPath
            : fromQuery !== undefined && fromQuery.length > 0
              ? fromQuery
              : undefined;
        if (path === undefined) {
          throw new BurrowError(
            'BAD_REQUEST',
            'path field is required: send a "path" field before the "file" part, or ?path=',
            { field: 'path' },
          );
        }
        sandboxPathBytes(path);
        const data = limitBytes(part.file, max, tooLarge);
        try {
          written = (
            await context.engine.writeFile(request.params.id, path, data, { signal: disconnect.signal })
          ).bytes;
        } catch (error) {
          throw exceeded ? fileTooLarge(max) : error;
        }
      }
    } finally {
      disconnect.dispose();
    }
    if (written === undefined) {
      throw new BurrowError(
        'BAD_REQUEST',
        'file field is required: send the file as a multipart part named "file"',
        { field: 'file' },
      );
    }
    return { success: true, bytes: written };
  });
}
