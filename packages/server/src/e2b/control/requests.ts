/**
 * E2B's control-plane request bodies, and the Burrow create request a new sandbox becomes. What Burrow cannot do
 * (pausing on timeout, egress rules, MCP gateways, IAM tokens) is refused with a 400 that says so, never ignored.
 */
import { z } from 'zod';
import { BurrowError } from '@burrow/protocol';
import type { CreateSandboxInput } from '../../engine/admission.js';
import type { NetworkMode } from '../../runtime/runtime.js';
import { LABEL_PUBLIC_TRAFFIC, LABEL_TEMPLATE, metadataLabels } from './wire.js';

const stringMap = z.record(z.string(), z.string());

export const NewSandboxSchema = z.object({
  templateID: z.string().min(1, 'give the template to create from'),
  timeout: z.number().int().min(0).nullish(),
  autoPause: z.boolean().nullish(),
  autoPauseMemory: z.boolean().nullish(),
  autoResume: z.object({ enabled: z.boolean() }).nullish(),
  secure: z.boolean().nullish(),
  allow_internet_access: z.boolean().nullish(),
  metadata: stringMap.nullish(),
  envVars: stringMap.nullish(),
  mcp: z.unknown().nullish(),
  iam: z.unknown().nullish(),
  network: z
    .object({
      allowPublicTraffic: z.boolean().nullish(),
      allowOut: z.array(z.string()).nullish(),
      denyOut: z.array(z.string()).nullish(),
      egressProxy: z.unknown().nullish(),
      rules: z.unknown().nullish(),
      maskRequestHost: z.string().nullish(),
      httpsPorts: z.array(z.number()).nullish(),
    })
    .nullish(),
  volumeMounts: z.array(z.object({ name: z.string(), path: z.string() })).nullish(),
});

export type NewSandbox = z.output<typeof NewSandboxSchema>;

export const TimeoutSchema = z.object({
  timeout: z.number().int().min(1, 'timeout: give at least 1 second'),
});

export const ConnectSchema = z.object({
  timeout: z.number().int().min(0).nullish(),
  /** `false`: a cold boot from the disk state is acceptable (E2B's `onResume: 'reboot'`). */
  memory: z.boolean().nullish(),
});

export const RefreshSchema = z.object({ duration: z.number().int().min(0).nullish() });

/** Parses a body against a schema; problems become one 400 naming each field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
  throw new BurrowError('VALIDATION_FAILED', problems.join('; '));
}

function refuse(field: string, why: string): never {
  throw new BurrowError('VALIDATION_FAILED', `${field}: ${why}`);
}

function present(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

export interface CreateContext {
  image: string;
  defaultNetworkMode: NetworkMode;
  writableRootfs: boolean;
}

/** The Burrow create request for an E2B `NewSandbox`. */
export function createInput(body: NewSandbox, context: CreateContext): CreateSandboxInput {
  if (body.autoPause === true || body.autoResume?.enabled === true) {
    refuse(
      'autoPause',
      'pausing when the timeout passes is not available per sandbox: a sandbox is killed then (the server can pause idle sandboxes: sandbox.idle_action_after)',
    );
  }
  if (present(body.mcp)) refuse('mcp', 'MCP gateways are not available on this server');
  if (present(body.iam)) refuse('iam', 'workload identity tokens are not available on this server');
  const network = body.network ?? {};
  for (const field of [
    'allowOut',
    'denyOut',
    'egressProxy',
    'rules',
    'maskRequestHost',
    'httpsPorts',
  ] as const) {
    if (present(network[field])) refuse(`network.${field}`, 'egress rules are not available on this server');
  }
  const labels: Record<string, string> = {
    ...metadataLabels(body.metadata ?? {}),
    [LABEL_TEMPLATE]: body.templateID,
  };
  if (network.allowPublicTraffic === false) labels[LABEL_PUBLIC_TRAFFIC] = 'false';
  const input: CreateSandboxInput = {
    image: context.image,
    env: body.envVars ?? {},
    labels,
    writableRootfs: context.writableRootfs,
  };
  // Internet access follows the server's default network mode; asking for none makes it `internal`.
  if (body.allow_internet_access === false && context.defaultNetworkMode === 'bridge')
    input.networkMode = 'internal';
  if (body.timeout !== undefined && body.timeout !== null && body.timeout > 0)
    input.timeoutMs = body.timeout * 1000;
  const volumes = body.volumeMounts ?? [];
  if (volumes.length > 0) {
    input.storage = {
      volumes: volumes.map((volume) => ({ name: volume.name, mountPath: volume.path, readOnly: false })),
    };
  }
  return input;
}
