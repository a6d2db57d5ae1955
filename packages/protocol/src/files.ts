import { z } from 'zod';
import { int } from './sandbox.js';

export const FileInfo = z.object({
  name: z.string(),
  path: z.string(),
  size: int,
  mode: z.string().describe('Symbolic mode as ls -l prints it, e.g. -rw-r--r--'),
  mod_time: z.string().describe('RFC 3339'),
  is_dir: z.boolean(),
  is_symlink: z.boolean().optional(),
  link_target: z.string().optional(),
});
export type FileInfo = z.infer<typeof FileInfo>;

export const WriteFileResponse = z.object({ success: z.literal(true), bytes: int.optional() });
