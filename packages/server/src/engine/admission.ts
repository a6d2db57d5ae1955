/**
 * Admission of a create request: server defaults, the network-mode ceiling, port rules and the storage policy.
 * Everything refused here is a 400 whose message says what to change.
 */
import { BurrowError } from '@burrow/protocol';
import { checkEgress, checkPublicPorts } from '../proxy/egress-admission.js';
import {
  ISOLATION_RUNTIMES,
  type EgressPolicy,
  type IsolationRuntime,
  type NetworkMode,
  type PortMapping,
  type SandboxConfig,
  type StorageConfig,
  type TmpfsMount,
  type VolumeMount,
} from '../runtime/runtime.js';
import { checkCallerLabels } from '../runtime/sandbox-config.js';
import { sandboxPathString } from '../runtime/paths.js';
import { checkBucketName } from '../storage/s3/index.js';
import { mergeTmpfs, tmpfsBytes } from '../storage/tmpfs.js';
import { checkVolumes } from '../storage/volumes.js';

export interface SandboxPolicy {
  defaultImage: string;
  defaultTimeoutMs: number;
  /** Longest lifetime a create or a lifetime reset may ask for (`sandbox.max_timeout`). */
  maxTimeoutMs: number;
  defaultCpu: number;
  defaultMemory: number;
  defaultPidLimit: number;
  defaultNetworkMode: NetworkMode;
  defaultTmpfs: readonly TmpfsMount[];
  allowVolumes: boolean;
  allowSharedVolumes: boolean;
  maxVolumesPerSandbox: number;
  allowS3: boolean;
  allowS3Fuse: boolean;
  /** Isolation of a create that names none (`sandbox.default_runtime`). */
  defaultRuntime?: IsolationRuntime;
  /** Isolation runtimes a create may ask for (`sandbox.allowed_runtimes`). */
  allowedRuntimes?: readonly IsolationRuntime[];
  /** The egress policy of a bridge-mode sandbox that gives none (`network.egress_allow` / `egress_deny`). */
  defaultEgress?: EgressPolicy;
  /** Operator ceilings a request cannot lift (`sandbox.max_*`); the defaults are within them. */
  maxPidLimit: number;
  /** Bytes; 0 = none. With a maximum, "unlimited" (0) means the maximum. */
  maxMemory: number;
  /** Nano-CPUs; 0 = none. With a maximum, "unlimited" (0) means the maximum. */
  maxCpu: number;
  /** Bytes: the sum of a sandbox's tmpfs sizes (defaults included). */
  maxTmpfsBytes: number;
  /** Host ports a request may publish on 127.0.0.1 (`sandbox.host_port_range`). */
  hostPortRange: PortRange;
}

export interface PortRange {
  min: number;
  max: number;
}

/**
 * A limit checked against its operator maximum (0 = none). With a maximum, 0 ("unlimited") becomes the maximum, so
 * no request and no default escapes it.
 */
export function withinMaximum(value: number, maximum: number, field: string, setting: string): number {
  if (maximum <= 0) return value;
  if (value === 0) return maximum;
  if (value > maximum) throw aboveMaximum(field, value, maximum, setting);
  return value;
}

/** A limit above its operator maximum: a 400 that names the field, the limit and the setting. */
export function aboveMaximum(field: string, value: number, limit: number, setting: string): BurrowError {
  return new BurrowError(
    'VALIDATION_FAILED',
    `${field}: ${value} is above this server's maximum of ${limit} (${setting})`,
    { field, limit },
  );
}

/** A create request after the wire format was parsed (camelCase, optional fields absent). */
export interface CreateSandboxInput {
  image?: string;
  env?: Record<string, string>;
  workdir?: string;
  timeoutMs?: number;
  cpu?: number;
  memory?: number;
  ports?: { sandboxPort: number; hostPort: number; protocol?: string }[];
  storage?: StorageConfig;
  writableRootfs?: boolean;
  networkMode?: string;
  labels?: Record<string, string>;
  cmd?: string[];
  pidLimit?: number;
  diskLimit?: number;
  runtime?: string;
  egress?: { allow?: string[]; deny?: string[] };
  secrets?: { host: string; header: string; value: string }[];
  publicPorts?: number[];
}

/** Isolation order: a sandbox may ask for its server's default mode or a more isolated one. */
const ISOLATION: Record<NetworkMode, number> = { bridge: 0, internal: 1, none: 2 };
const MIN_MEMORY = 6 * 1024 * 1024;

export function resolveNetworkMode(requested: string | undefined, serverDefault: NetworkMode): NetworkMode {
  if (requested === undefined || requested === '') return serverDefault;
  if (requested !== 'none' && requested !== 'internal' && requested !== 'bridge') {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `network_mode: "${requested}" is not a network mode: use "none", "internal" or "bridge" (or omit it)`,
    );
  }
  if (ISOLATION[requested] < ISOLATION[serverDefault]) {
    throw new BurrowError(
      'POLICY_VIOLATION',
      `network_mode: per-sandbox network_mode may only keep or increase isolation: this server's default is "${serverDefault}", so "${requested}" is refused`,
    );
  }
  return requested;
}

/** Ports ride on a connection the agent makes inside the sandbox, so they work in every network mode. */
export function checkPorts(
  ports: CreateSandboxInput['ports'] = [],
  range: PortRange = { min: 1, max: 65535 },
): PortMapping[] {
  const seen = new Set<number>();
  const normalised = ports.map((port) => {
    const protocol = (port.protocol ?? '').toLowerCase();
    if (protocol !== '' && protocol !== 'tcp') {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `ports.protocol: unsupported protocol "${port.protocol}": only tcp is supported`,
      );
    }
    for (const [field, value] of [
      ['sandbox_port', port.sandboxPort],
      ['host_port', port.hostPort],
    ] as const) {
      if (!Number.isInteger(value) || value < 1 || value > 65535) {
        throw new BurrowError(
          'VALIDATION_FAILED',
          `ports.${field}: ${field} ${value} out of range (1-65535)`,
        );
      }
    }
    if (port.hostPort < range.min || port.hostPort > range.max) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `ports.host_port: ${port.hostPort} is outside this server's host port range ${range.min}-${range.max} (sandbox.host_port_range)`,
        { field: 'ports.host_port', limit: `${range.min}-${range.max}` },
      );
    }
    if (seen.has(port.hostPort)) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `ports.host_port: host_port ${port.hostPort} is listed twice`,
      );
    }
    seen.add(port.hostPort);
    return { sandboxPort: port.sandboxPort, hostPort: port.hostPort, protocol: 'tcp' as const };
  });
  return normalised;
}

function checkStorage(storage: StorageConfig | undefined, policy: SandboxPolicy): StorageConfig | undefined {
  if (storage === undefined) return undefined;
  const checked: StorageConfig = {};
  if (storage.volumes !== undefined && storage.volumes.length > 0) {
    if (!policy.allowVolumes) {
      throw new BurrowError(
        'POLICY_VIOLATION',
        'storage.volumes: volumes are disabled on this server (sandbox.allow_volumes)',
      );
    }
    checked.volumes = checkVolumes(storage.volumes, policy.maxVolumesPerSandbox);
  }
  if (storage.tmpfs !== undefined && storage.tmpfs.length > 0) {
    const total = mergeTmpfs(policy.defaultTmpfs, storage.tmpfs).reduce(
      (sum, mount) => sum + tmpfsBytes(mount),
      0,
    );
    // tmpfs lives in the host's memory: the sum a sandbox may mount is the operator's to bound.
    if (total > policy.maxTmpfsBytes)
      throw aboveMaximum(
        'storage.tmpfs',
        total,
        policy.maxTmpfsBytes,
        'sandbox.max_tmpfs_total, in bytes, defaults included',
      );
    checked.tmpfs = storage.tmpfs.map((mount) => ({
      ...mount,
      path: sandboxPathString(mount.path, 'storage.tmpfs path'),
    }));
  }
  if (storage.s3 !== undefined) {
    if (!policy.allowS3)
      throw new BurrowError(
        'POLICY_VIOLATION',
        'storage.s3: S3 storage is disabled on this server (sandbox.allow_s3)',
      );
    const s3 = { ...storage.s3 };
    if (!['hooks', 'fuse', 'on_demand'].includes(s3.mode)) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `storage.s3.mode: "${String(s3.mode)}" is not a mode: use hooks, fuse or on_demand`,
      );
    }
    if (s3.mode === 'fuse' && !policy.allowS3Fuse) {
      throw new BurrowError(
        'POLICY_VIOLATION',
        'storage.s3: mode "fuse" is disabled on this server (sandbox.allow_s3_fuse)',
      );
    }
    if (s3.bucket === '') throw new BurrowError('VALIDATION_FAILED', 'storage.s3.bucket is required');
    checkBucketName(s3.bucket, 'storage.s3.bucket');
    if (s3.syncPath !== undefined && s3.syncPath !== '')
      s3.syncPath = sandboxPathString(s3.syncPath, 'storage.s3.sync_path');
    if (s3.mountPath !== undefined && s3.mountPath !== '') {
      s3.mountPath = sandboxPathString(s3.mountPath, 'storage.s3.mount_path');
    }
    if (s3.mode === 'fuse' && (s3.mountPath === undefined || s3.mountPath === '')) {
      throw new BurrowError('VALIDATION_FAILED', 'storage.s3.mount_path is required in mode "fuse"');
    }
    checked.s3 = s3;
  }
  return checked;
}

/** A requested lifetime, refused above the operator's maximum (so no deadline can overflow a date or a timer). */
export function checkLifetime(timeoutMs: number, policy: Pick<SandboxPolicy, 'maxTimeoutMs'>): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs > policy.maxTimeoutMs) {
    const limit = Math.floor(policy.maxTimeoutMs / 1000);
    throw new BurrowError(
      'VALIDATION_FAILED',
      `timeout: at most ${limit} seconds for a sandbox's lifetime on this server (sandbox.max_timeout), got ${timeoutMs / 1000}`,
      { field: 'timeout', limit },
    );
  }
  return timeoutMs;
}

/** Volumes that another sandbox already mounts, when sharing is off. */
export function checkVolumeSharing(
  volumes: readonly VolumeMount[],
  inUse: ReadonlySet<string>,
  policy: SandboxPolicy,
): void {
  if (policy.allowSharedVolumes) return;
  for (const volume of volumes) {
    if (inUse.has(volume.name)) {
      throw new BurrowError(
        'POLICY_VIOLATION',
        `storage.volumes: volume "${volume.name}" is used by another sandbox and sharing is disabled (sandbox.allow_shared_volumes)`,
      );
    }
  }
}

/** The isolation runtime a create gets: the server's default, or one it asks for that the operator allows. */
export function resolveRuntime(requested: string | undefined, policy: SandboxPolicy): IsolationRuntime {
  const allowed = policy.allowedRuntimes ?? ISOLATION_RUNTIMES;
  if (requested === undefined || requested === '') return policy.defaultRuntime ?? 'runc';
  if (!(ISOLATION_RUNTIMES as readonly string[]).includes(requested)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `runtime: "${requested}" is not an isolation runtime: use "runc" or "gvisor" (or omit it)`,
      { field: 'runtime' },
    );
  }
  if (!(allowed as readonly string[]).includes(requested)) {
    throw new BurrowError(
      'POLICY_VIOLATION',
      `runtime: "${requested}" is not allowed on this server (sandbox.allowed_runtimes): allowed: ${allowed.join(', ')}`,
      { field: 'runtime' },
    );
  }
  return requested as IsolationRuntime;
}

/** Applies server defaults and policy; returns the configuration to create and the lifetime. */
export function admit(
  input: CreateSandboxInput,
  policy: SandboxPolicy,
): { config: SandboxConfig; timeoutMs: number } {
  checkCallerLabels(input.labels);
  const networkMode = resolveNetworkMode(input.networkMode, policy.defaultNetworkMode);
  const ports = checkPorts(input.ports, policy.hostPortRange);
  const memory = withinMaximum(
    input.memory !== undefined && input.memory > 0 ? input.memory : policy.defaultMemory,
    policy.maxMemory,
    'memory',
    'sandbox.max_memory, in bytes',
  );
  if (memory > 0 && memory < MIN_MEMORY) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `memory: ${memory} bytes is below the 6 MiB minimum (6291456)`,
    );
  }
  const cpu = withinMaximum(
    input.cpu !== undefined && input.cpu > 0 ? input.cpu : policy.defaultCpu,
    policy.maxCpu,
    'cpu',
    'sandbox.max_cpu, in nano-CPUs',
  );
  const pidLimit =
    input.pidLimit !== undefined && input.pidLimit > 0 ? input.pidLimit : policy.defaultPidLimit;
  if (pidLimit > policy.maxPidLimit)
    throw aboveMaximum('pid_limit', pidLimit, policy.maxPidLimit, 'sandbox.max_pid_limit');
  if (input.cmd?.length === 0)
    throw new BurrowError('VALIDATION_FAILED', 'cmd: give at least one argument or omit it');
  const image = input.image !== undefined && input.image !== '' ? input.image : policy.defaultImage;
  const config: SandboxConfig = {
    image,
    env: input.env ?? {},
    cpu,
    memory,
    pidLimit,
    ports,
    labels: input.labels ?? {},
    networkMode,
    writableRootfs: input.writableRootfs === true,
    runtime: resolveRuntime(input.runtime, policy),
  };
  if (input.workdir !== undefined && input.workdir !== '')
    config.workdir = sandboxPathString(input.workdir, 'workdir');
  if (input.cmd !== undefined) config.cmd = input.cmd;
  if (input.diskLimit !== undefined && input.diskLimit > 0) config.diskLimit = input.diskLimit;
  const egress = checkEgress(input, networkMode, policy.defaultEgress);
  if (egress.policy !== undefined) config.egress = egress.policy;
  if (egress.secrets.length > 0) config.secrets = egress.secrets;
  const publicPorts = checkPublicPorts(input.publicPorts);
  if (publicPorts.length > 0) config.publicPorts = publicPorts;
  const storage = checkStorage(input.storage, policy);
  if (storage !== undefined) config.storage = storage;
  const timeoutMs =
    input.timeoutMs !== undefined && input.timeoutMs > 0
      ? checkLifetime(input.timeoutMs, policy)
      : policy.defaultTimeoutMs;
  return { config, timeoutMs };
}
