import { z } from 'zod';
import { int, optional } from './sandbox.js';

const S3Target = {
  endpoint: optional(z.string()),
  access_key: optional(z.string()),
  secret_key: optional(z.string()),
  region: optional(z.string()),
};

export const S3ImportRequest = z.object({
  bucket: optional(z.string()),
  key: optional(z.string()).describe(
    'Object key; with a trailing "/" (or prefix) imports every object under it',
  ),
  dest_path: optional(z.string()),
  prefix: optional(z.string()).describe(
    'Import every object under this prefix into dest_path (Burrow extension)',
  ),
  ...S3Target,
});

const Skipped = z
  .array(z.object({ key: z.string().optional(), path: z.string().optional(), reason: z.string() }))
  .optional()
  .describe('Directory transfers: keys or paths left out, with the reason (the first 1000)');

/** Present only when more were skipped than `skipped` lists. */
const SkippedCount = {
  skipped_count: int.optional().describe('How many were skipped in all, when more than `skipped` lists'),
  truncated: z.boolean().optional().describe('`skipped` lists only the first 1000 of `skipped_count`'),
};

export const S3ImportResponse = z.object({
  success: z.literal(true),
  bytes_downloaded: int,
  path: z.string(),
  objects: int.optional().describe('Directory imports: objects downloaded'),
  skipped: Skipped,
  ...SkippedCount,
});

export const S3ExportRequest = z.object({
  source_path: optional(z.string()).describe(
    'A file, or (Burrow extension) a directory exported to key as a prefix',
  ),
  bucket: optional(z.string()),
  key: optional(z.string()),
  ...S3Target,
});

export const S3ExportResponse = z.object({
  success: z.literal(true),
  bytes_uploaded: int,
  s3_key: z.string(),
  objects: int.optional().describe('Directory exports: files uploaded'),
  skipped: Skipped,
  ...SkippedCount,
});
