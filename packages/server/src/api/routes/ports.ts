/**
 * Published ports (Den's routes, made real): `GET` lists a sandbox's mappings (`[]` when none), `POST` publishes a
 * sandbox port on a host port of 127.0.0.1 (Den's PortMapping in and out; a taken host port is 409), `DELETE`
 * removes the mapping on that host port (or every mapping of that sandbox port). They ride on a connection the
 * agent makes inside the sandbox, so they work in every network mode.
 */
import { BurrowError, PortMapping } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { checkPorts } from '../../engine/admission.js';
import { readBody } from '../body.js';
import type { ApiContext, NetworkApi } from '../context.js';
import { portToWire } from '../wire.js';
import type { IdParams } from './sandboxes.js';

export interface PortParams extends IdParams {
  port: string;
}

export function networkOf(context: ApiContext): NetworkApi {
  if (context.network === undefined) {
    throw new BurrowError(
      'NOT_SUPPORTED',
      'sandbox networking (ports, previews, egress) is not set up on this server',
    );
  }
  return context.network;
}

/** A `{port}` path parameter: 1-65535. */
export function portParam(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new BurrowError('VALIDATION_FAILED', `port "${text.slice(0, 20)}" is not a TCP port: use 1-65535`, {
      field: 'port',
    });
  }
  return port;
}

export function portRoutes(app: FastifyInstance, context: ApiContext): void {
  const { engine } = context;

  app.get<{ Params: IdParams }>('/api/v1/sandboxes/:id/ports', async (request) => {
    if (context.network === undefined) {
      const sandbox = await engine.get(request.params.id);
      return (sandbox.config.ports ?? []).map(portToWire);
    }
    return context.network.listPorts(request.params.id).map(portToWire);
  });

  app.post<{ Params: IdParams }>('/api/v1/sandboxes/:id/ports', async (request, reply) => {
    const network = networkOf(context);
    const body = readBody(PortMapping, request.body, { allowEmpty: false });
    // The same checks as a create's ports, the operator's host port range included.
    const [mapping] = checkPorts(
      [
        {
          sandboxPort: body.sandbox_port,
          hostPort: body.host_port,
          ...(body.protocol === undefined ? {} : { protocol: body.protocol }),
        },
      ],
      engine.policy.hostPortRange,
    );
    if (mapping === undefined) throw new BurrowError('VALIDATION_FAILED', 'give sandbox_port and host_port');
    const published = await network.publish(request.params.id, mapping);
    return reply.code(201).send(portToWire(published));
  });

  app.delete<{ Params: PortParams }>(
    '/api/v1/sandboxes/:id/ports/:port',
    { config: { ignoreBody: true } },
    async (request, reply) => {
      await networkOf(context).unpublish(request.params.id, portParam(request.params.port));
      return reply.code(204).send();
    },
  );
}
