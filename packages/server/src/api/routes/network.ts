/**
 * Burrow's networking routes: a port's preview URLs and token (`GET /preview/{port}`), making a port's preview
 * public or private again, revoking every token of a sandbox, and a sandbox's egress policy (read, and replaced on
 * a running sandbox for its new connections).
 */
import {
  BurrowError,
  EgressPolicy,
  PreviewSettingsRequest,
  type EgressState,
  type PreviewUrl,
} from '@burrow/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EgressView, PreviewGrant } from '../../proxy/sandbox-network.js';
import { readBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { rfc3339 } from '../wire.js';
import { networkOf, portParam, type PortParams } from './ports.js';
import type { IdParams } from './sandboxes.js';

function previewToWire(grant: PreviewGrant): PreviewUrl {
  const wire: PreviewUrl = {
    port: grant.port,
    url: grant.url,
    path_url: grant.pathUrl,
    host: grant.host,
    public: grant.public,
  };
  if (grant.token !== undefined) wire.token = grant.token;
  if (grant.expiresAt !== undefined) wire.expires_at = rfc3339(grant.expiresAt);
  return wire;
}

function egressToWire(view: EgressView): EgressState {
  return {
    policy: view.policy === undefined ? null : { allow: view.policy.allow, deny: view.policy.deny },
    secrets: view.secrets,
    refused: view.refused,
  };
}

/** How the client reached this server, for the URLs it is given back. */
function serverOf(request: FastifyRequest): { url: string; port: number } {
  const host = request.host;
  const port = request.port ?? (request.protocol === 'https' ? 443 : 80);
  return { url: `${request.protocol}://${host}`, port };
}

function ttlOf(query: unknown): number | undefined {
  const raw = (query as { expires_in?: unknown } | undefined)?.expires_in;
  if (raw === undefined || raw === '') return undefined;
  const seconds = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(seconds)) {
    throw new BurrowError('VALIDATION_FAILED', 'expires_in: give a whole number of seconds', {
      field: 'expires_in',
    });
  }
  return seconds * 1000;
}

export function networkRoutes(app: FastifyInstance, context: ApiContext): void {
  const { engine } = context;

  app.get<{ Params: PortParams }>('/api/v1/sandboxes/:id/preview/:port', (request) => {
    const port = portParam(request.params.port);
    return previewToWire(
      networkOf(context).preview(request.params.id, port, serverOf(request), ttlOf(request.query)),
    );
  });

  app.put<{ Params: PortParams }>('/api/v1/sandboxes/:id/preview/:port', (request) => {
    const port = portParam(request.params.port);
    const body = readBody(PreviewSettingsRequest, request.body, { allowEmpty: false });
    const network = networkOf(context);
    network.setPublic(request.params.id, port, body.public);
    return previewToWire(network.preview(request.params.id, port, serverOf(request)));
  });

  app.post<{ Params: IdParams }>(
    '/api/v1/sandboxes/:id/preview/rotate',
    { config: { ignoreBody: true } },
    (request) => {
      networkOf(context).rotateTokens(request.params.id);
      return { success: true };
    },
  );

  app.get<{ Params: IdParams }>('/api/v1/sandboxes/:id/egress', async (request) => {
    await engine.get(request.params.id);
    return egressToWire(networkOf(context).egressView(request.params.id));
  });

  app.put<{ Params: IdParams }>('/api/v1/sandboxes/:id/egress', (request) => {
    const body = readBody(EgressPolicy, request.body, { allowEmpty: false });
    const input: { allow?: string[]; deny?: string[] } = {};
    if (body.allow !== undefined) input.allow = body.allow;
    if (body.deny !== undefined) input.deny = body.deny;
    return egressToWire(networkOf(context).setEgress(request.params.id, input));
  });
}
