/**
 * Configuration: the only reader of the config file and of BURROW_* variables. Den's key layout (so a den.yaml
 * works), zod-validated with every problem reported at once. Precedence: flags > environment > file > defaults.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BurrowError, NAME_PATTERN } from '@burrow/protocol';
import { checkPolicy, isHostName, parseCidr } from './proxy/egress-policy.js';
import { DEFAULT_TMPFS, parseTmpfsSize } from './storage/tmpfs.js';

/** A tmpfs size in bytes; a malformed one counts 0 here (it is reported when the mount is used). */
function tmpfsSizeOrZero(size: string): number {
  try {
    return parseTmpfsSize(size, 'default_tmpfs');
  } catch {
    return 0;
  }
}

const UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations ("30m", "1h30m", "10s", "500ms") or a number of seconds. */
export function parseDuration(value: unknown): number | undefined {
  if (typeof value === 'number') return value * 1000;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  return parts.reduce((sum, part) => sum + Number(part[1]) * (UNITS_MS[part[2] ?? 's'] ?? 0), 0);
}

const duration = z.union([z.string(), z.number()]).transform((value, context) => {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 0) {
    context.addIssue({ code: 'custom', message: `"${value}" is not a duration: use e.g. 30m, 10s, 1h30m` });
    return z.NEVER;
  }
  return ms;
});

/** Node's timers fire at once above 2^31-1 ms: a duration that drives a timer must stay below it. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration used as a timer's delay: positive and at most ~24.8 days, so it cannot silently wrap to 1 ms. */
const timerDuration = duration.pipe(
  z
    .number()
    .positive()
    .max(MAX_TIMER_MS, {
      message: `at most ${MAX_TIMER_MS} ms (about 24.8 days): Node's timers wrap above it`,
    }),
);

/** Longest `sandbox.max_timeout` accepted: a year keeps every lifetime a valid date with room to spare. */
const MAX_LIFETIME_MS = 365 * 24 * 3_600_000;

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Byte sizes: a number, or "512m", "1g", "5GiB". */
const size = z.union([z.string(), z.number()]).transform((value, context) => {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const match = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(String(value).trim());
  if (match === null) {
    context.addIssue({ code: 'custom', message: `"${value}" is not a size: use bytes or e.g. 512m, 1g` });
    return z.NEVER;
  }
  return Number(match[1]) * (SIZE_UNITS[(match[2] ?? '').toLowerCase()] ?? 1);
});

const bool = z
  .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
  .transform((value) => value === true || value === 'true' || value === '1');
const int = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform(Number);
const number = z.union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/)]).transform(Number);
/** Lists also come from the environment as comma-separated strings. */
const stringList = z.union([z.array(z.string()), z.string()]).transform((value) =>
  Array.isArray(value)
    ? value
    : value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
);

/** `"20000-29999"`: the host ports sandboxes may publish, both ends included. */
const portRange = z
  .union([z.string(), z.object({ min: z.number(), max: z.number() })])
  .transform((value, context) => {
    if (typeof value === 'object') return value;
    const match = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(value);
    const min = Number(match?.[1]);
    const max = Number(match?.[2]);
    if (match === null || min < 1 || max > 65535 || min > max) {
      context.addIssue({
        code: 'custom',
        message: `"${value}" is not a port range: use e.g. 20000-29999 (1-65535)`,
      });
      return z.NEVER;
    }
    return { min, max };
  });

/** `template=image` pairs: a map in a file, or `base=img,code-interpreter-v1=img2` from the environment. */
const templateMap = z.union([z.record(z.string(), z.string()), z.string()]).transform((value, context) => {
  if (typeof value !== 'string') return value;
  const map: Record<string, string> = {};
  for (const pair of value.split(',').map((item) => item.trim())) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) {
      context.addIssue({ code: 'custom', message: `"${pair}" is not template=image` });
      return z.NEVER;
    }
    map[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return map;
});
/** A tenant's limits (0 = none) and, optionally, its own rate limit. */
const tenantSettings = z
  .object({
    max_sandboxes: int.pipe(z.number().int().nonnegative()).optional(),
    max_memory: size.optional(),
    max_cpu: int.pipe(z.number().int().nonnegative()).optional(),
    max_snapshots: int.pipe(z.number().int().nonnegative()).optional(),
    rate_limit_rps: number.pipe(z.number().positive()).optional(),
    rate_limit_burst: int.pipe(z.number().int().positive()).optional(),
  })
  .strict();

const tmpfsEntry = z
  .object({ path: z.string(), size: z.string(), options: z.string().optional() })
  .transform(({ options, ...mount }) => (options === undefined ? mount : { ...mount, options }));

export const ConfigSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: int.pipe(z.number().int().min(0).max(65535)).default(8080),
        allowed_origins: stringList.default([]),
        rate_limit_rps: number.pipe(z.number().positive()).default(20),
        rate_limit_burst: int.pipe(z.number().int().positive()).default(40),
        trust_proxy: bool.default(false),
        max_file_bytes: size.default(1024 ** 3),
        max_list_entries: int.pipe(z.number().int().positive()).default(10_000),
        header_timeout: timerDuration.default(10_000),
        request_timeout: timerDuration.default(30_000),
        max_connections: int.pipe(z.number().int().positive()).default(1024),
      })
      .strict()
      .prefault({}),
    runtime: z
      .object({
        backend: z.literal('docker').default('docker'),
        network_id: z.string().default('burrow'),
        default_network_mode: z.enum(['internal', 'bridge', 'none']).default('internal'),
        agent_transport: z.enum(['auto', 'socket', 'exec', 'engine']).default('auto'),
      })
      .strict()
      .prefault({}),
    sandbox: z
      .object({
        default_image: z.string().min(1).default('burrow/default:latest'),
        // Den refuses 0: every sandbox would expire at once.
        default_timeout: duration
          .pipe(z.number().positive('default_timeout must be positive: use e.g. 30m'))
          .default(30 * 60_000),
        max_timeout: duration
          .pipe(z.number().positive().max(MAX_LIFETIME_MS, { message: 'at most 8760h (a year)' }))
          .default(24 * 3_600_000),
        max_sandboxes: int.pipe(z.number().int().positive()).default(100),
        default_cpu: int.pipe(z.number().int().nonnegative()).default(0),
        default_memory: size.default(1024 ** 3),
        default_pid_limit: int.pipe(z.number().int().positive()).default(256),
        max_cpu: int.pipe(z.number().int().nonnegative()).default(0),
        max_memory: size.default(0),
        max_pid_limit: int.pipe(z.number().int().positive()).default(4096),
        max_tmpfs_total: size.pipe(z.number().int().positive()).default(8 * 1024 ** 3),
        host_port_range: portRange.default({ min: 20_000, max: 29_999 }),
        warm_pool_size: int.pipe(z.number().int().nonnegative()).default(0),
        warm_pools: z
          .array(
            z.object({
              image: z.string(),
              size: int.pipe(z.number().int().nonnegative()),
              runtime: z.enum(['runc', 'gvisor']).optional(),
            }),
          )
          .default([]),
        default_runtime: z.enum(['runc', 'gvisor']).default('runc'),
        allowed_runtimes: z
          .union([z.array(z.enum(['runc', 'gvisor'])), z.string()])
          .transform((value) =>
            (Array.isArray(value) ? value : value.split(',').map((item) => item.trim())).filter(
              (item) => item !== '',
            ),
          )
          .pipe(z.array(z.enum(['runc', 'gvisor'])).min(1))
          .default(['runc', 'gvisor']),
        allow_volumes: bool.default(true),
        allow_shared_volumes: bool.default(true),
        allow_s3: bool.default(true),
        allow_s3_fuse: bool.default(false),
        max_volumes_per_sandbox: int.pipe(z.number().int().nonnegative()).default(5),
        default_tmpfs: z.array(tmpfsEntry).default(DEFAULT_TMPFS.map((mount) => ({ ...mount }))),
        reaper_interval: timerDuration.default(10_000),
        build_default_image: bool.default(true),
        /** A directory with a Dockerfile that builds default_image when it is missing ('' = images/default). */
        default_image_context: z.string().default(''),
        /** Exec and file calls on a paused sandbox resume it (else 409). */
        auto_resume: bool.default(true),
        /** Each activity pushes the expiry to this long after it (never past max_timeout from creation); 0 = off. */
        idle_timeout: duration.default(0),
        idle_action: z.enum(['pause', 'stop']).default('pause'),
        /** A running sandbox without activity for this long is paused (or stopped); 0 = never. */
        idle_action_after: duration.default(0),
        /** Whether a paused sandbox's lifetime keeps running. */
        expire_while_paused: bool.default(true),
      })
      .strict()
      .prefault({}),
    exec: z
      .object({
        max_output_bytes: size.pipe(z.number().int().positive()).default(16 * 1024 ** 2),
      })
      .strict()
      .prefault({}),
    processes: z
      .object({
        /** Output of each stream of a background process kept for replay (1 KiB to 64 MiB). */
        output_buffer_bytes: size
          .pipe(
            z
              .number()
              .int()
              .min(1024)
              .max(64 * 1024 ** 2),
          )
          .default(1024 ** 2),
      })
      .strict()
      .prefault({}),
    resource: z
      .object({
        pressure_threshold: number.pipe(z.number().gt(0).lt(1)).default(0.8),
        critical_threshold: number
          .pipe(z.number().gt(0).lt(1, 'critical_threshold must be less than 1.0'))
          .default(0.9),
        monitor_interval: duration
          .pipe(z.number().min(1000, 'monitor_interval must be at least 1s'))
          .default(5000),
        enable_auto_throttle: bool.default(true),
        min_memory_floor: size
          .pipe(z.number().min(4 * 1024 * 1024, 'min_memory_floor must be at least 4MB'))
          .default(32 * 1024 * 1024),
        /** Percent of 10 s in which some tasks stalled on memory that reads as warning / high; 0 = ignore. */
        psi_warning: number.pipe(z.number().min(0).max(100)).default(10),
        psi_high: number.pipe(z.number().min(0).max(100)).default(30),
        /** Percent of 10 s in which all tasks stalled on memory that reads as critical; 0 = ignore. */
        psi_critical: number.pipe(z.number().min(0).max(100)).default(10),
        /** At critical and above, sandboxes idle this long are paused; 0 = never. */
        pause_idle_after: duration.default(2 * 60_000),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({ public: bool.default(false) })
      .strict()
      .prefault({}),
    store: z
      .object({ path: z.string().default('burrow.db') })
      .strict()
      .prefault({}),
    auth: z
      .object({ enabled: bool.default(false), api_keys: stringList.default([]) })
      .strict()
      .prefault({}),
    tenancy: z
      .object({
        /** Every tenant's quotas unless it has its own (0 = none). */
        max_sandboxes: int.pipe(z.number().int().nonnegative()).default(0),
        max_memory: size.default(0),
        max_cpu: int.pipe(z.number().int().nonnegative()).default(0),
        max_snapshots: int.pipe(z.number().int().nonnegative()).default(0),
        /** Per tenant: its own quotas and rate limit, over the defaults above. */
        tenants: z
          .record(z.string(), tenantSettings)
          .superRefine((tenants, context) => {
            for (const name of Object.keys(tenants).filter((key) => !NAME_PATTERN.test(key)))
              context.addIssue({
                code: 'custom',
                path: [name],
                message: `"${name}" is not a tenant name: use 1-64 letters, digits, "_" or "-"`,
              });
          })
          .default({}),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        /** How long audit entries are kept; 0 = for ever. */
        retention: duration.default(90 * 24 * 3_600_000),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        format: z.enum(['text', 'json']).default('text'),
      })
      .strict()
      .prefault({}),
    network: z
      .object({
        /** Host-based preview URLs: http://<port>-<id>.<preview_domain>:<server port>/. */
        preview_domain: z
          .string()
          .regex(
            /^(?=.{1,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
            {
              message: 'give a domain name, e.g. localhost or preview.example.com',
            },
          )
          .default('localhost'),
        /** Scheme of preview URLs (https behind a TLS-terminating reverse proxy). */
        preview_scheme: z.enum(['http', 'https']).default('http'),
        /** Port in host-based preview URLs; 0 = the server's own. */
        preview_port: int.pipe(z.number().int().min(0).max(65535)).default(0),
        /** Lifetime of a preview token when the caller names none. */
        preview_token_ttl: duration.default(3_600_000),
        /** The server's default egress policy, for bridge-mode sandboxes that give none. */
        egress_allow: stringList.default([]),
        /** Destinations no sandbox reaches through the egress proxy, whatever its policy allows. */
        egress_deny: stringList.default([]),
        /** Internal ranges (CIDRs) sandboxes may reach: through the egress proxy and in bridge mode. */
        allow_private: stringList.default([]),
        /** Fixed answers of the egress proxy's resolver, "name=address" (internal names, split horizon). */
        egress_hosts: stringList.default([]),
        /** A PEM file of CA certificates the egress proxy trusts for upstream HTTPS besides the system's. */
        egress_ca_file: z.string().default(''),
        /** iptables rules on Burrow's bridge network: no metadata, internal ranges or host addresses. */
        bridge_firewall: bool.default(true),
      })
      .strict()
      .prefault({}),
    s3: z
      .object({
        endpoint: z.string().default(''),
        region: z.string().default('us-east-1'),
        access_key: z.string().default(''),
        secret_key: z.string().default(''),
        allow_internal_endpoint: bool.default(false),
        max_transfer_bytes: size.default(5 * 1024 ** 3),
        /** Time budget of one `hooks` download or upload. */
        sync_timeout: timerDuration.default(5 * 60_000),
      })
      .strict()
      .prefault({}),
    e2b: z
      .object({
        /** Serve the E2B-compatible endpoint (control plane and sandbox traffic) on its own listener. */
        enabled: bool.default(false),
        host: z.string().default('127.0.0.1'),
        port: int.pipe(z.number().int().min(0).max(65535)).default(8081),
        /** The domain of `<port>-<id>.<domain>` sandbox hosts; '' = `localhost:<port>`. */
        domain: z.string().default(''),
        /** E2B template id -> image; `base` and `code-interpreter-v1` have defaults (docs/e2b.md). */
        templates: templateMap.default({}),
        /** E2B sandboxes are writable machines; Burrow's read-only root filesystem is kept when false. */
        writable_rootfs: bool.default(true),
        /** Build Burrow's images that templates map to (the code interpreter) when they are missing. */
        build_images: bool.default(true),
      })
      .strict()
      .prefault({}),
    data_dir: z.string().default(join(homedir(), '.burrow')),
    destroy_on_exit: bool.default(false),
  })
  .strict();

export type Config = z.output<typeof ConfigSchema>;

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node[key] = typeof next === 'object' && next !== null ? next : {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1] ?? ''] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const existing = out[key];
    out[key] =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      typeof existing === 'object' &&
      existing !== null
        ? merge(existing as Tree, value as Tree)
        : value;
  }
  return out;
}

/**
 * `BURROW_SERVER__PORT=9090` → server.port; `BURROW_DATA_DIR` → data_dir. Every `<SECTION>__<KEY>` name is config
 * (so a typo is reported); a single-word name is config only when it is a top-level key, leaving other BURROW_*
 * variables (BURROW_URL, BURROW_API_KEY for clients, BURROW_COMMIT for the build, ...) alone.
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  const topLevelScalars = new Set(['data_dir', 'destroy_on_exit']);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('BURROW_') || value === undefined) continue;
    const path = name.slice('BURROW_'.length).toLowerCase().split('__');
    if (path.length > 2) continue;
    if (path.length === 1 && !topLevelScalars.has(path[0] ?? '')) continue;
    setPath(tree, path, value);
  }
  return tree;
}

export interface LoadConfigOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, as a partial config tree. */
  flags?: Tree;
  /** Told about keys of Den's layout that Burrow accepts but does not act on. */
  warn?: (message: string) => void;
}

/** Den keys (den-api.md §8.2) that Burrow has no use for: accepted so a den.yaml loads, and reported. */
const DEN_ONLY_KEYS: Record<string, string> = {
  'server.tls': 'Burrow does not terminate TLS; put a reverse proxy in front of it',
  'runtime.docker_host': 'set the DOCKER_HOST environment variable instead',
  'runtime.reconcile_network': 'Burrow manages its own networks',
  'runtime.allow_unsafe_bridge': 'bridge mode is always available',
  'runtime.allow_unsafe_bind': 'binding beyond loopback needs auth instead',
  'runtime.platform_override': 'not needed by Burrow',
  'sandbox.allow_host_binds': 'Burrow never bind-mounts host paths into sandboxes',
  'resource.overcommit_ratio': 'unused, as in Den',
};

/** Removes Den-only keys from `raw`, returning what was dropped (TLS turned on is refused: it would not happen). */
function dropDenOnlyKeys(raw: Tree): string[] {
  const dropped: string[] = [];
  for (const [key, why] of Object.entries(DEN_ONLY_KEYS)) {
    const path = key.split('.');
    const parent = path.length === 1 ? raw : (raw[path[0] ?? ''] as Tree | undefined);
    const leaf = path[path.length - 1] ?? '';
    if (parent === undefined || typeof parent !== 'object' || parent === null || !(leaf in parent)) continue;
    const value = parent[leaf];
    if (
      key === 'server.tls' &&
      typeof value === 'object' &&
      value !== null &&
      bool.safeParse((value as Tree).enabled).data === true
    ) {
      throw new BurrowError('VALIDATION_FAILED', `invalid configuration:\n  - server.tls.enabled: ${why}`);
    }
    delete parent[leaf];
    dropped.push(`${key}: ignored (${why})`);
  }
  return dropped;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`).join('\n');
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  let fromFile: Tree = {};
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (error) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `cannot read config file ${options.file}: ${(error as Error).message}`,
      );
    }
    try {
      fromFile = (parseYaml(text) as Tree | null) ?? {};
    } catch (error) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `config file ${options.file} is not valid YAML: ${(error as Error).message}`,
      );
    }
  }
  const raw = merge(merge(fromFile, configFromEnv(options.env ?? process.env)), options.flags ?? {});
  for (const message of dropDenOnlyKeys(raw)) options.warn?.(message);
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success)
    throw new BurrowError('VALIDATION_FAILED', `invalid configuration:\n${formatIssues(parsed.error)}`);
  const config = parsed.data;
  const problems: string[] = [];
  if (config.resource.pressure_threshold >= config.resource.critical_threshold) {
    problems.push('  - resource.pressure_threshold: pressure_threshold must be less than critical_threshold');
  }
  const sandbox = config.sandbox;
  const ceilings: Array<[string, number, string, number]> = [
    ['default_memory', sandbox.default_memory, 'max_memory', sandbox.max_memory],
    ['default_cpu', sandbox.default_cpu, 'max_cpu', sandbox.max_cpu],
    ['default_pid_limit', sandbox.default_pid_limit, 'max_pid_limit', sandbox.max_pid_limit],
  ];
  for (const [key, value, maxKey, max] of ceilings) {
    if (max > 0 && value > max)
      problems.push(`  - sandbox.${key}: ${value} is above sandbox.${maxKey} (${max})`);
  }
  const defaultTmpfs = sandbox.default_tmpfs.reduce((sum, mount) => sum + tmpfsSizeOrZero(mount.size), 0);
  if (defaultTmpfs > sandbox.max_tmpfs_total) {
    problems.push(
      `  - sandbox.default_tmpfs: its sizes add up to ${defaultTmpfs} bytes, above sandbox.max_tmpfs_total (${sandbox.max_tmpfs_total})`,
    );
  }
  if (config.sandbox.default_timeout > config.sandbox.max_timeout) {
    problems.push(
      `  - sandbox.default_timeout: ${config.sandbox.default_timeout / 1000} s is above sandbox.max_timeout (${config.sandbox.max_timeout / 1000} s)`,
    );
  }
  problems.push(...networkProblems(config));
  if (problems.length > 0)
    throw new BurrowError('VALIDATION_FAILED', `invalid configuration:\n${problems.join('\n')}`);
  config.data_dir = resolve(config.data_dir);
  // A store path from a den.yaml is relative to the data directory.
  if (!isAbsolute(config.store.path)) config.store.path = join(config.data_dir, config.store.path);
  return config;
}

/**
 * What the server takes from its environment besides configuration: where the Docker engine is (`DOCKER_HOST`,
 * which also decides whether the agent binary can be mounted), the search path its helper programs (s3fs) run with,
 * and the build's commit and date. Read here and nowhere else.
 */
export interface HostEnvironment {
  dockerHost: string | undefined;
  path: string;
  commit: string;
  buildDate: string;
}

export function hostEnvironment(env: NodeJS.ProcessEnv = process.env): HostEnvironment {
  return {
    dockerHost: env.DOCKER_HOST === '' ? undefined : env.DOCKER_HOST,
    path: env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    commit: env.BURROW_COMMIT ?? 'unknown',
    buildDate: env.BURROW_BUILD_DATE ?? 'unknown',
  };
}

/** Entries of the network section that parse as strings but mean nothing (bad CIDRs, names, host pairs). */
function networkProblems(config: Config): string[] {
  const problems: string[] = [];
  const { network } = config;
  for (const [key, list] of [
    ['egress_allow', network.egress_allow],
    ['egress_deny', network.egress_deny],
  ] as const) {
    try {
      checkPolicy({ allow: list }, `network.${key}`);
    } catch (error) {
      problems.push(`  - ${(error as Error).message.replace(/\.allow:/, ':')}`);
    }
  }
  for (const range of network.allow_private) {
    if (parseCidr(range) === undefined)
      problems.push(`  - network.allow_private: "${range}" is not a CIDR (e.g. 10.0.0.0/8 or 127.0.0.1/32)`);
  }
  for (const entry of network.egress_hosts) {
    const [name = '', address = ''] = entry.split('=');
    if (!isHostName(name.toLowerCase()) || parseCidr(address) === undefined || address.includes('/'))
      problems.push(`  - network.egress_hosts: "${entry}" is not name=address (e.g. api.internal=10.0.0.5)`);
  }
  return problems;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Refuses to expose an unauthenticated API beyond this machine. */
export function checkBindSafety(config: Config): void {
  if (config.auth.enabled) return;
  const exposed = [['server.host', config.server.host]];
  if (config.e2b.enabled) exposed.push(['e2b.host', config.e2b.host]);
  for (const [key, host] of exposed) {
    if (LOOPBACK.test(host ?? '')) continue;
    throw new BurrowError(
      'POLICY_VIOLATION',
      `refusing to listen on ${host} (${key}) with authentication off: anyone who reaches this address could run ` +
        'commands in every sandbox. Enable auth (--api-key <key>, or auth.enabled + auth.api_keys) or bind 127.0.0.1.',
    );
  }
}

/** The configuration with secrets masked, for the startup log. */
export function describeConfig(config: Config): Tree {
  const mask = (value: string) => (value === '' ? '(empty)' : '***');
  return {
    ...config,
    auth: { enabled: config.auth.enabled, api_keys: config.auth.api_keys.map(mask) },
    s3: { ...config.s3, access_key: mask(config.s3.access_key), secret_key: mask(config.s3.secret_key) },
  };
}
