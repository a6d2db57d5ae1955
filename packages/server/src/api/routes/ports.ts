/**
 * Ports are fixed at creation. `GET` lists them (`[]` when none, where Den sent `null`); adding or removing them
 * later is not supported, with Den's exact 501 message (no existence check, as in Den).
 */
import { BurrowError } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { portToWire } from '../wire.js';
import type { IdParams } from './sandboxes.js';

export const DYNAMIC_PORTS_MESSAGE =
  'dynamic port forwarding is not supported: port mappings are fixed at sandbox creation and only published in network_mode=bridge (Docker-native, no runtime proxy)';

function notSupported(): never {
  throw new BurrowError('NOT_SUPPORTED', DYNAMIC_PORTS_MESSAGE);
}

export function portRoutes(app: FastifyInstance, { engine }: ApiContext): void {
  app.get<{ Params: IdParams }>('/api/v1/sandboxes/:id/ports', async (request) => {
    const sandbox = await engine.get(request.params.id);
    return (sandbox.config.ports ?? []).map(portToWire);
  });

  app.post('/api/v1/sandboxes/:id/ports', { config: { ignoreBody: true } }, notSupported);

  app.delete('/api/v1/sandboxes/:id/ports/:port', { config: { ignoreBody: true } }, notSupported);
}
