/**
 * Snapshots: create (201; `{}` as Den requires, or no body at all), list (`[]` when none), restore (201 with the
 * whole new sandbox, a superset of Den's `{id, status}`), delete (204). Unknown snapshots are 404.
 */
import { CreateSnapshotRequest } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { readBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { sandboxToWire, snapshotToWire } from '../wire.js';
import type { IdParams } from './sandboxes.js';

interface SnapshotParams {
  snapshotId: string;
}

export function snapshotRoutes(app: FastifyInstance, { engine }: ApiContext): void {
  app.post<{ Params: IdParams }>('/api/v1/sandboxes/:id/snapshots', async (request, reply) => {
    const body = readBody(CreateSnapshotRequest, request.body, { allowEmpty: true });
    const snapshot = await engine.createSnapshot(request.params.id, body.name ?? '');
    return reply.code(201).send(snapshotToWire(snapshot));
  });

  // Den lists without checking the sandbox: snapshots outlive the sandbox they were taken from.
  app.get<{ Params: IdParams }>('/api/v1/sandboxes/:id/snapshots', (request) =>
    engine.listSnapshots(request.params.id).map(snapshotToWire),
  );

  app.post<{ Params: SnapshotParams }>(
    '/api/v1/snapshots/:snapshotId/restore',
    { config: { ignoreBody: true } },
    async (request, reply) => {
      const sandbox = await engine.restoreSnapshot(request.params.snapshotId);
      return reply.code(201).send(sandboxToWire(sandbox));
    },
  );

  app.delete<{ Params: SnapshotParams }>(
    '/api/v1/snapshots/:snapshotId',
    { config: { ignoreBody: true } },
    async (request, reply) => {
      await engine.deleteSnapshot(request.params.snapshotId);
      return reply.code(204).send();
    },
  );
}
