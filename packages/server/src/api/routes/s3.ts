/**
 * S3 transfers (den-api §4.11): `POST /files/s3-import` and `/files/s3-export` with Den's request and response
 * shapes, streamed both ways up to `s3.max_transfer_bytes`; a prefix (or a key ending in `/`) and a directory
 * `source_path` move whole trees (Burrow extension). `GET /s3-syncs` lists a sandbox's hooks reports, also after
 * the sandbox is gone (the upload runs as it is destroyed).
 */
import { S3ExportRequest, S3ImportRequest } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { readBody } from '../body.js';
import type { TransferSkip } from '../../engine/s3-sync.js';
import type { ApiContext } from '../context.js';
import { syncReportToWire } from '../wire.js';
import type { IdParams } from './sandboxes.js';

const SANDBOX = '/api/v1/sandboxes/:id';

/** A directory transfer's counts; the skipped list holds the first 1000, and `truncated` says when there were more. */
function directoryFields(result: { objects?: number; skipped?: TransferSkip[]; skippedCount?: number }) {
  if (result.objects === undefined) return {};
  const skipped = result.skipped ?? [];
  const count = result.skippedCount ?? skipped.length;
  return {
    objects: result.objects,
    skipped,
    ...(count > skipped.length ? { skipped_count: count, truncated: true } : {}),
  };
}

export function s3Routes(app: FastifyInstance, { engine }: ApiContext): void {
  app.post<{ Params: IdParams }>(`${SANDBOX}/files/s3-import`, async (request) => {
    const body = readBody(S3ImportRequest, request.body, { allowEmpty: false });
    const result = await engine.s3Import(request.params.id, {
      bucket: body.bucket,
      key: body.key,
      prefix: body.prefix,
      destPath: body.dest_path,
      endpoint: body.endpoint,
      accessKey: body.access_key,
      secretKey: body.secret_key,
      region: body.region,
    });
    return {
      success: true,
      bytes_downloaded: result.bytes,
      path: result.path,
      ...directoryFields(result),
    };
  });

  app.post<{ Params: IdParams }>(`${SANDBOX}/files/s3-export`, async (request) => {
    const body = readBody(S3ExportRequest, request.body, { allowEmpty: false });
    const result = await engine.s3Export(request.params.id, {
      sourcePath: body.source_path,
      bucket: body.bucket,
      key: body.key,
      endpoint: body.endpoint,
      accessKey: body.access_key,
      secretKey: body.secret_key,
      region: body.region,
    });
    return {
      success: true,
      bytes_uploaded: result.bytes,
      s3_key: result.key,
      ...directoryFields(result),
    };
  });

  app.get<{ Params: IdParams }>(`${SANDBOX}/s3-syncs`, (request) =>
    engine.s3SyncReports(request.params.id).map(syncReportToWire),
  );
}
