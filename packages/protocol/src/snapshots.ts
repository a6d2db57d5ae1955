import { z } from 'zod';
import { int, optional } from './sandbox.js';

export const CreateSnapshotRequest = z.object({ name: optional(z.string()) });

export const SnapshotInfo = z.object({
  id: z.string(),
  sandbox_id: z.string(),
  name: z.string(),
  image_id: z.string(),
  created_at: z.string(),
  size: int,
});
export type SnapshotInfo = z.infer<typeof SnapshotInfo>;
