/** The networking routes in the OpenAPI document: published ports, previews, the preview proxy, egress. */
import type { RouteSpec } from './openapi-spec.js';

const SANDBOX = '/api/v1/sandboxes/{id}';

export const NETWORK_ROUTE_SPECS: RouteSpec[] = [
  {
    method: 'get',
    path: `${SANDBOX}/ports`,
    summary: "The sandbox's published ports (set at creation or by POST /ports)",
    tag: 'ports',
    responses: { 200: { description: 'OK', schema: '[PortMapping]' } },
    errors: [404],
  },
  {
    method: 'post',
    path: `${SANDBOX}/ports`,
    summary:
      'Publish a sandbox port on a host port of 127.0.0.1 (through the agent, in every network mode); 409 when the host port is taken',
    tag: 'ports',
    body: 'PortMapping',
    responses: { 201: { description: 'Published', schema: 'PortMapping' } },
    errors: [400, 404, 409],
  },
  {
    method: 'delete',
    path: `${SANDBOX}/ports/{port}`,
    summary: 'Remove the mapping on this host port (or every mapping of this sandbox port)',
    tag: 'ports',
    responses: { 204: { description: 'Removed' } },
    errors: [400, 404],
  },
  {
    method: 'get',
    path: `${SANDBOX}/preview/{port}`,
    summary:
      "A port's preview URLs (host-based and path-based) and, with auth on, a scoped token (query expires_in: seconds)",
    tag: 'ports',
    responses: { 200: { description: 'OK', schema: 'PreviewUrl' } },
    errors: [400, 404],
  },
  {
    method: 'put',
    path: `${SANDBOX}/preview/{port}`,
    summary: "Make a port's preview public (no token needed) or private again",
    tag: 'ports',
    body: 'PreviewSettingsRequest',
    responses: { 200: { description: 'OK', schema: 'PreviewUrl' } },
    errors: [400, 404],
  },
  {
    method: 'post',
    path: `${SANDBOX}/preview/rotate`,
    summary: "Rotate the sandbox's token key: every preview token and cookie issued so far stops working",
    tag: 'ports',
    responses: { 200: { description: 'Rotated', schema: 'SuccessResponse' } },
    errors: [404],
  },
  {
    method: 'get',
    path: `${SANDBOX}/proxy/{port}/{path}`,
    summary:
      'Path-based preview: any method, any path below, WebSocket upgrades included, forwarded to the sandbox port. Needs an API key, a token (?burrow_token= or X-Burrow-Preview-Token) or the cookie a token set, unless the port is public. The same is served host-based at http://<port>-<id>.<preview domain>:<server port>/',
    tag: 'ports',
    raw: true,
    responses: { 200: { description: "The sandbox server's answer, streamed" } },
    errors: [401, 404, 409, 502],
  },
  {
    method: 'get',
    path: `${SANDBOX}/egress`,
    summary:
      "The sandbox's egress policy, the hosts and headers of its secrets, and how many connections were refused",
    tag: 'egress',
    responses: { 200: { description: 'OK', schema: 'EgressState' } },
    errors: [404],
  },
  {
    method: 'put',
    path: `${SANDBOX}/egress`,
    summary:
      "Replace a sandbox's egress policy (it must have been created with one); new connections follow it at once",
    tag: 'egress',
    body: 'EgressPolicy',
    responses: { 200: { description: 'OK', schema: 'EgressState' } },
    errors: [400, 404, 409],
  },
];
