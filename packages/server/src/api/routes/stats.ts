/** Per-sandbox stats, the server's sandbox counts (Den's keys), and host resources (supplied by the server). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { statsToWire, systemStatsToWire } from '../wire.js';
import type { IdParams } from './sandboxes.js';

export function statsRoutes(app: FastifyInstance, context: ApiContext): void {
  const { engine } = context;

  app.get<{ Params: IdParams }>('/api/v1/sandboxes/:id/stats', async (request) =>
    statsToWire(await engine.stats(request.params.id)),
  );

  app.get('/api/v1/stats', () => systemStatsToWire(engine.systemStats()));

  app.get('/api/v1/resources', () => context.resources());
}
