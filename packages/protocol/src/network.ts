/** Sandbox networking on the wire (Burrow additions): egress policies, secrets at egress, preview URLs. */
import { z } from 'zod';
import { EgressPolicyView, EgressSecretView, int } from './sandbox.js';

/** `GET`/`PUT /sandboxes/{id}/egress`. */
export const EgressState = z.object({
  policy: EgressPolicyView.nullable().describe(
    'The policy in force; null when the sandbox has none (its network mode alone decides)',
  ),
  secrets: z.array(EgressSecretView),
  refused: int.describe('Connections refused by the policy since the server started'),
});
export type EgressState = z.infer<typeof EgressState>;

export const PreviewUrl = z.object({
  port: int,
  url: z.string().describe('Host-based URL: http://<port>-<id>.<preview domain>:<server port>/'),
  path_url: z.string().describe('Path-based URL: <server>/api/v1/sandboxes/<id>/proxy/<port>/'),
  host: z.string().describe('The host (and port) of the host-based URL'),
  token: z
    .string()
    .optional()
    .describe(
      'Scoped access token (this sandbox and port, until expires_at); absent when auth is off or the port is public',
    ),
  expires_at: z.string().optional().describe('RFC 3339; when the token stops working'),
  public: z.boolean().describe('The port is public: its preview needs no token'),
});
export type PreviewUrl = z.infer<typeof PreviewUrl>;

export const PreviewSettingsRequest = z.object({
  public: z.boolean().describe('Open the port to anyone who can reach the server (true) or require a token'),
});

export const PublishedPort = z.object({
  sandbox_port: int,
  host_port: int,
  protocol: z.string(),
});
