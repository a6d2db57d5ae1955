/**
 * One log line per finished request (method, URL, status, duration), like Den's, instead of Fastify's two.
 * Headers are never logged, so API keys never reach the log, and a preview token in a URL is masked; health checks,
 * which are polled, log at debug.
 */
import type { FastifyInstance } from 'fastify';
import { redactedUrl } from '../proxy/preview-target.js';

const QUIET_ROUTES = new Set(['/api/v1/health', '/api/v1/version']);

export function installRequestLog(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    const details = {
      method: request.method,
      url: redactedUrl(request.url),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      reqId: request.id,
    };
    if (QUIET_ROUTES.has(request.routeOptions.url ?? '')) request.log.debug(details, 'request');
    else request.log.info(details, 'request');
    done();
  });
}
