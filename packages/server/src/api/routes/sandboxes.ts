/** Sandbox lifecycle: create, list, get, destroy, stop, start, and Burrow's pause, resume, fork and lifetime reset. */
import { CreateSandboxRequest, ExtendTimeoutRequest, ForkRequest } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { readBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { createInputFromWire, sandboxToWire } from '../wire.js';

export interface IdParams {
  id: string;
}

export function sandboxRoutes(app: FastifyInstance, { engine }: ApiContext): void {
  app.post('/api/v1/sandboxes', async (request, reply) => {
    const body = readBody(CreateSandboxRequest, request.body, { allowEmpty: false });
    // Admission (engine) refuses a lifetime above sandbox.max_timeout before anything is created.
    const sandbox = await engine.create(createInputFromWire(body));
    return reply.code(201).send(sandboxToWire(sandbox));
  });

  app.get('/api/v1/sandboxes', () => engine.list().map((sandbox) => sandboxToWire(sandbox)));

  app.get<{ Params: IdParams }>('/api/v1/sandboxes/:id', async (request) =>
    sandboxToWire(await engine.get(request.params.id), true),
  );

  app.delete<{ Params: IdParams }>(
    '/api/v1/sandboxes/:id',
    { config: { ignoreBody: true } },
    async (request, reply) => {
      await engine.destroy(request.params.id);
      return reply.code(204).send();
    },
  );

  app.post<{ Params: IdParams }>(
    '/api/v1/sandboxes/:id/stop',
    { config: { ignoreBody: true } },
    async (request) => {
      await engine.stop(request.params.id);
      return { status: 'stopped' };
    },
  );

  app.post<{ Params: IdParams }>(
    '/api/v1/sandboxes/:id/start',
    { config: { ignoreBody: true } },
    async (request) => {
      await engine.start(request.params.id);
      return { status: 'running' };
    },
  );

  app.post<{ Params: IdParams }>(
    '/api/v1/sandboxes/:id/pause',
    { config: { ignoreBody: true } },
    async (request) => sandboxToWire(await engine.pause(request.params.id)),
  );

  app.post<{ Params: IdParams }>(
    '/api/v1/sandboxes/:id/resume',
    { config: { ignoreBody: true } },
    async (request) => sandboxToWire(await engine.resume(request.params.id)),
  );

  app.post<{ Params: IdParams }>('/api/v1/sandboxes/:id/fork', async (request, reply) => {
    const body = readBody(ForkRequest, request.body, { allowEmpty: true });
    const copies = await engine.fork(request.params.id, body.count ?? 1);
    return reply.code(201).send({ sandboxes: copies.map((copy) => sandboxToWire(copy)) });
  });

  app.post<{ Params: IdParams }>('/api/v1/sandboxes/:id/timeout', (request) => {
    const body = readBody(ExtendTimeoutRequest, request.body, { allowEmpty: false });
    return sandboxToWire(engine.extendTimeout(request.params.id, body.timeout * 1000));
  });
}
