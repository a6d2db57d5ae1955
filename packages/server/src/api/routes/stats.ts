/** Per-sandbox stats, the server's sandbox counts (Den's keys), and host resources (supplied by the server). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { statsToWire, systemStatsToWire } from '../wire.js';
import type { IdParams } from './sandboxes.js';

export function statsRoutes(app: FastifyInstance, context: ApiContext): void {
  const { engine } = context;

  app.get<{ Params: IdParams }>('/api/v1/sandboxes/:id/stats', async (request) => {
    const stats = await engine.stats(request.params.id);
    const egress = context.network?.egressView(request.params.id);
    // Only sandboxes whose traffic passes the egress proxy have refusals to count.
    return statsToWire(stats, egress?.policy === undefined ? undefined : egress.refused);
  });

  app.get('/api/v1/stats', () => systemStatsToWire(engine.systemStats()));

  app.get('/api/v1/resources', () => context.resources());
}
