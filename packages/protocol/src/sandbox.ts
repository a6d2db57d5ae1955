/** Sandboxes on the wire: Den's keys (snake_case), with Burrow's optional additions. */
import { z } from 'zod';

/** An optional field that also accepts `null` (Den's decoder treats `null` as "not given"). */
export const optional = <T extends z.ZodType>(schema: T) =>
  schema.nullish().transform((value) => value ?? undefined);

export const int = z.number().int();
export const nonNegativeInt = int.nonnegative();

export const SandboxStatus = z.enum(['creating', 'running', 'paused', 'stopped', 'error']);
export type SandboxStatus = z.infer<typeof SandboxStatus>;

export const NetworkMode = z.enum(['none', 'internal', 'bridge']);
export type NetworkMode = z.infer<typeof NetworkMode>;

/** `runc`: a container on the host's kernel; `gvisor`: a second, user-space kernel (runsc) in between. */
export const IsolationRuntime = z.enum(['runc', 'gvisor']);
export type IsolationRuntime = z.infer<typeof IsolationRuntime>;

export const PortMapping = z.object({
  sandbox_port: int.describe('Port inside the sandbox (1-65535)'),
  host_port: int.describe('Port on 127.0.0.1 of the host (1-65535); published in network_mode=bridge'),
  protocol: optional(z.string()).describe('Only "tcp" (the default)'),
});
export type PortMapping = z.input<typeof PortMapping>;

export const VolumeMount = z.object({
  name: z.string().describe('Volume name; Burrow namespaces it as burrow-<name>'),
  mount_path: z.string(),
  read_only: optional(z.boolean()),
});

export const TmpfsMount = z.object({
  path: z.string(),
  size: z.string().describe('<n>k, <n>m or <n>g; at most 4g'),
  options: optional(z.string()).describe('Comma-separated: rw, ro, noexec, exec, nosuid, suid, nodev, dev'),
});

export const S3SyncMode = z.enum(['hooks', 'fuse', 'on_demand']);

export const S3SyncConfig = z.object({
  endpoint: optional(z.string()),
  bucket: z.string(),
  prefix: optional(z.string()),
  region: optional(z.string()),
  access_key: optional(z.string()),
  secret_key: optional(z.string()),
  mode: S3SyncMode,
  mount_path: optional(z.string()),
  sync_path: optional(z.string()),
});

export const StorageConfig = z.object({
  volumes: optional(z.array(VolumeMount)),
  tmpfs: optional(z.array(TmpfsMount)),
  s3: optional(S3SyncConfig),
});

export const EgressPolicy = z.object({
  allow: optional(z.array(z.string())).describe(
    'Destinations the sandbox may reach: names ("example.com"), wildcards ("*.example.com", "*" for any name), addresses or CIDRs ("203.0.113.0/24")',
  ),
  deny: optional(z.array(z.string())).describe(
    'Destinations refused even when allowed (same forms); deny wins over allow',
  ),
});
export type EgressPolicy = z.input<typeof EgressPolicy>;

export const EgressSecret = z.object({
  host: z.string().describe('The host name the header is added for, e.g. "api.example.com" (exact name)'),
  header: z.string().describe('Header name, e.g. "Authorization"'),
  value: z.string().describe('Header value; kept by the server, never visible inside the sandbox'),
});
export type EgressSecret = z.input<typeof EgressSecret>;

/** A secret as the API shows it: where it applies, never its value. */
export const EgressSecretView = z.object({ host: z.string(), header: z.string() });

export const EgressPolicyView = z.object({
  allow: z.array(z.string()),
  deny: z.array(z.string()),
});

export const CreateSandboxRequest = z.object({
  image: optional(z.string()),
  env: optional(z.record(z.string(), z.string())),
  workdir: optional(z.string()),
  timeout: optional(int).describe(
    "Lifetime in seconds; the server default when absent or <= 0; at most the server's sandbox.max_timeout (default 86400)",
  ),
  cpu: optional(nonNegativeInt).describe('CPU limit in nano-CPUs (1000000000 = one core)'),
  memory: optional(nonNegativeInt).describe('Memory limit in bytes'),
  ports: optional(z.array(PortMapping)),
  storage: optional(StorageConfig),
  writable_rootfs: optional(z.boolean()),
  network_mode: optional(z.string()).describe(
    '"", "none", "internal" or "bridge"; may only be as isolated as the server default or more',
  ),
  // Burrow additions
  labels: optional(z.record(z.string(), z.string())).describe(
    'Caller labels; keys may not start with "burrow."',
  ),
  cmd: optional(z.array(z.string())).describe("Replaces the image's command"),
  pid_limit: optional(nonNegativeInt).describe('Maximum processes; server default when absent'),
  disk_limit: optional(nonNegativeInt).describe(
    'Writable-layer size limit in bytes, where the host can enforce it',
  ),
  runtime: optional(z.string()).describe(
    'Isolation: "runc" (a container) or "gvisor" (a second, user-space kernel); the server default when absent',
  ),
  egress: optional(EgressPolicy).describe(
    'Egress policy (network_mode "bridge"): the sandbox reaches only these destinations, through the egress proxy; the server default policy when absent',
  ),
  secrets: optional(z.array(EgressSecret)).describe(
    'Headers the egress proxy adds to requests to a host (HTTPS intercepted for these hosts only); needs an egress policy allowing the host',
  ),
  public_ports: optional(z.array(int)).describe(
    'Sandbox ports whose preview URLs need no token (when auth is on)',
  ),
});
export type CreateSandboxRequest = z.input<typeof CreateSandboxRequest>;

const SyncFailure = z.object({
  key: z.string().optional(),
  path: z.string().optional(),
  code: z.string().describe('Error code of this object, e.g. S3_ACCESS_DENIED'),
  error: z.string(),
});

const SyncSkip = z.object({ key: z.string().optional(), path: z.string().optional(), reason: z.string() });

/** One S3 `hooks` run: the download after create or the upload before destroy (Burrow addition). */
export const S3SyncReport = z.object({
  direction: z.enum(['download', 'upload']),
  bucket: z.string(),
  prefix: z.string(),
  sync_path: z.string(),
  started_at: z.string().describe('RFC 3339'),
  finished_at: z.string().describe('RFC 3339'),
  objects: int.describe('Objects downloaded or files uploaded'),
  bytes: int,
  failure_count: int,
  skipped_count: int,
  failures: z.array(SyncFailure).describe('Per-object failures (the first 100; failure_count counts all)'),
  skipped: z
    .array(SyncSkip)
    .describe('Keys or paths left out, with the reason (the first 100), e.g. keys escaping sync_path'),
  timed_out: z.boolean().describe('The time budget ran out before everything was transferred'),
});
export type S3SyncReport = z.infer<typeof S3SyncReport>;

export const Sandbox = z.object({
  id: z.string(),
  image: z.string(),
  status: SandboxStatus,
  created_at: z.string().describe('RFC 3339'),
  expires_at: z.string().describe('RFC 3339; 0001-01-01T00:00:00Z when the sandbox never expires'),
  ports: z.array(PortMapping).optional(),
  ip: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  network_mode: NetworkMode.optional(),
  runtime: IsolationRuntime.optional().describe(
    'Its isolation runtime (Burrow addition): always in GET /sandboxes/{id}, in lists when not "runc"',
  ),
  error: z.string().optional().describe('Why the sandbox is in error, when known'),
  exit_code: int.optional().describe('Exit code of the main process once it stopped'),
  s3_sync: z.array(S3SyncReport).optional().describe('Reports of S3 hooks runs (storage.s3.mode = hooks)'),
  last_activity_at: z
    .string()
    .optional()
    .describe('RFC 3339: last exec, file, attach or proxy use; absent until the first'),
  paused_at: z.string().optional().describe('RFC 3339: when a paused sandbox was paused'),
  egress: EgressPolicyView.optional().describe('Its egress policy, when it has one (GET /sandboxes/{id})'),
  secrets: z
    .array(EgressSecretView)
    .optional()
    .describe('Hosts and headers of its egress secrets (never their values)'),
  public_ports: z.array(int).optional().describe('Ports whose previews need no token'),
  owner: z
    .object({ tenant: z.string(), key: z.string() })
    .optional()
    .describe('The tenant it belongs to and the name of the key that created it (Burrow addition)'),
});
export type Sandbox = z.infer<typeof Sandbox>;

export const ForkRequest = z.object({
  count: optional(int).describe('How many copies (1-20); 1 when absent'),
});

export const ForkResponse = z.object({
  sandboxes: z.array(Sandbox).describe('The new sandboxes, running'),
});

export const StatusResponse = z.object({ status: SandboxStatus });

export const ExtendTimeoutRequest = z.object({
  timeout: int
    .positive()
    .describe(
      "New lifetime in seconds, counted from now; at most the server's sandbox.max_timeout (default 86400)",
    ),
});

export const SuccessResponse = z.object({ success: z.literal(true) });

/** Den's "no expiry" instant. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
