/** `GET /api/v1/health` and `GET /api/v1/version`: open, cheap, and advertising the feature tokens. */
import { API_VERSION, FEATURES, INTERACTIVE_FEATURES } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

const PING_TIMEOUT_MS = 3000;
/** Health is polled (and open to anyone): one runtime ping serves every caller for this long. */
const PING_CACHE_MS = 1000;

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`runtime ping timed out after ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Whether the runtime answers, sharing one ping between concurrent and recent callers. */
function healthProbe(ping: () => Promise<void>): () => Promise<boolean> {
  let last: { at: number; result: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (last === undefined || now - last.at > PING_CACHE_MS) {
      const result = withTimeout(Promise.resolve().then(ping), PING_TIMEOUT_MS).then(
        () => true,
        () => false,
      );
      last = { at: now, result };
    }
    return last.result;
  };
}

export function healthRoutes(app: FastifyInstance, context: ApiContext): void {
  const healthy = healthProbe(context.ping);
  const features = context.interactive ? [...FEATURES, ...INTERACTIVE_FEATURES] : [...FEATURES];

  app.get('/api/v1/health', async (_request, reply) => {
    if (await healthy()) {
      const runtimes = await context.engine.isolations().catch(() => []);
      return {
        status: 'ok',
        features,
        runtimes: runtimes.map((entry) => ({ runtime: entry.runtime, network_modes: entry.networkModes })),
      };
    }
    return reply.code(503).send({ status: 'unhealthy', reason: 'runtime unavailable' });
  });

  app.get('/api/v1/version', () => ({
    version: context.version.version,
    commit: context.version.commit,
    build_date: context.version.buildDate,
    features,
    api: API_VERSION,
  }));
}
