/**
 * `GET /metrics`: Prometheus' text format, for an admin key (it covers every tenant) unless `metrics.public`
 * (then open, for a scraper without credentials); rate-limited like every route. Every finished request is counted by
 * method, route pattern (never the raw URL, so ids do not multiply series) and status.
 */
import type { FastifyInstance } from 'fastify';

export interface MetricsEndpoint {
  /** Open without an API key. */
  public: boolean;
  contentType: string;
  text(): Promise<string>;
  request(method: string, route: string, status: number, seconds: number): void;
}

export function metricsRoute(app: FastifyInstance, metrics: MetricsEndpoint): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    metrics.request(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  const config = metrics.public
    ? { auth: 'open' as const }
    : { auth: 'required' as const, access: 'admin' as const };
  app.get('/metrics', { config }, async (_request, reply) =>
    reply.type(metrics.contentType).send(await metrics.text()),
  );
}
