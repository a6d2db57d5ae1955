/** Maps between the wire's snake_case objects (protocol types) and the SDK's camelCase ones. */
import type {
  CreateSandboxRequest,
  FileInfo as WireFileInfo,
  PortMapping as WirePortMapping,
  Sandbox as WireSandbox,
  SandboxStats as WireSandboxStats,
  SnapshotInfo as WireSnapshotInfo,
} from '@burrow/protocol';
import type {
  CreateSandboxOptions,
  FileInfo,
  NetworkMode,
  PortMapping,
  SandboxInfo,
  SandboxStats,
  SnapshotInfo,
  StorageConfig,
} from './types.js';

/** Den's "never expires" instant. */
const ZERO_TIME_PREFIX = '0001-01-01';

function date(value: string | undefined): Date {
  return new Date(value ?? 0);
}

export function portFromWire(port: WirePortMapping): PortMapping {
  const out: PortMapping = { sandboxPort: port.sandbox_port, hostPort: port.host_port };
  if (typeof port.protocol === 'string') out.protocol = port.protocol;
  return out;
}

export function sandboxFromWire(wire: WireSandbox): SandboxInfo {
  const info: SandboxInfo = {
    id: wire.id,
    image: wire.image,
    status: wire.status,
    createdAt: date(wire.created_at),
    expiresAt:
      wire.expires_at === undefined || wire.expires_at.startsWith(ZERO_TIME_PREFIX)
        ? null
        : date(wire.expires_at),
    ports: (wire.ports ?? []).map(portFromWire),
    labels: wire.labels ?? {},
  };
  if (wire.ip !== undefined && wire.ip !== '') info.ip = wire.ip;
  if (wire.network_mode !== undefined) info.networkMode = wire.network_mode as NetworkMode;
  if (wire.runtime !== undefined) info.runtime = wire.runtime;
  if (wire.error !== undefined) info.error = wire.error;
  if (wire.exit_code !== undefined) info.exitCode = wire.exit_code;
  if (wire.last_activity_at !== undefined) info.lastActivityAt = date(wire.last_activity_at);
  if (wire.paused_at !== undefined) info.pausedAt = date(wire.paused_at);
  if (wire.owner !== undefined) info.owner = { tenant: wire.owner.tenant, key: wire.owner.key };
  return info;
}

/**
 * The API's JSON for a sandbox (as `GET /sandboxes/{id}` returns it), e.g. for `--json` output.
 *
 * @example
 * console.log(JSON.stringify(sandboxToWire(sandbox.info)));
 */
export function sandboxToWire(info: SandboxInfo): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    id: info.id,
    image: info.image,
    status: info.status,
    created_at: info.createdAt.toISOString(),
    expires_at: info.expiresAt === null ? '0001-01-01T00:00:00Z' : info.expiresAt.toISOString(),
  };
  if (info.ports.length > 0) {
    wire.ports = info.ports.map((port) => ({
      sandbox_port: port.sandboxPort,
      host_port: port.hostPort,
      protocol: port.protocol ?? 'tcp',
    }));
  }
  if (info.ip !== undefined) wire.ip = info.ip;
  if (Object.keys(info.labels).length > 0) wire.labels = info.labels;
  if (info.networkMode !== undefined) wire.network_mode = info.networkMode;
  if (info.runtime !== undefined) wire.runtime = info.runtime;
  if (info.error !== undefined) wire.error = info.error;
  if (info.exitCode !== undefined) wire.exit_code = info.exitCode;
  if (info.lastActivityAt !== undefined) wire.last_activity_at = info.lastActivityAt.toISOString();
  if (info.pausedAt !== undefined) wire.paused_at = info.pausedAt.toISOString();
  if (info.owner !== undefined) wire.owner = { ...info.owner };
  return wire;
}

function storageToWire(storage: StorageConfig): NonNullable<CreateSandboxRequest['storage']> {
  const wire: NonNullable<CreateSandboxRequest['storage']> = {};
  if (storage.volumes !== undefined) {
    wire.volumes = storage.volumes.map((volume) => ({
      name: volume.name,
      mount_path: volume.mountPath,
      ...(volume.readOnly === undefined ? {} : { read_only: volume.readOnly }),
    }));
  }
  if (storage.tmpfs !== undefined) wire.tmpfs = storage.tmpfs.map((mount) => ({ ...mount }));
  if (storage.s3 !== undefined) {
    const { accessKey, secretKey, mountPath, syncPath, ...rest } = storage.s3;
    wire.s3 = {
      ...rest,
      ...(accessKey === undefined ? {} : { access_key: accessKey }),
      ...(secretKey === undefined ? {} : { secret_key: secretKey }),
      ...(mountPath === undefined ? {} : { mount_path: mountPath }),
      ...(syncPath === undefined ? {} : { sync_path: syncPath }),
    };
  }
  return wire;
}

export function createRequestToWire(options: CreateSandboxOptions): CreateSandboxRequest {
  const wire: CreateSandboxRequest = {};
  if (options.image !== undefined) wire.image = options.image;
  if (options.env !== undefined) wire.env = options.env;
  if (options.workdir !== undefined) wire.workdir = options.workdir;
  if (options.timeoutSeconds !== undefined) wire.timeout = Math.ceil(options.timeoutSeconds);
  if (options.cpus !== undefined) wire.cpu = Math.round(options.cpus * 1e9);
  if (options.memoryBytes !== undefined) wire.memory = Math.round(options.memoryBytes);
  if (options.pidLimit !== undefined) wire.pid_limit = options.pidLimit;
  if (options.diskLimitBytes !== undefined) wire.disk_limit = Math.round(options.diskLimitBytes);
  if (options.ports !== undefined) {
    wire.ports = options.ports.map((port) => ({
      sandbox_port: port.sandboxPort,
      host_port: port.hostPort,
      ...(port.protocol === undefined ? {} : { protocol: port.protocol }),
    }));
  }
  if (options.storage !== undefined) wire.storage = storageToWire(options.storage);
  if (options.writableRootfs !== undefined) wire.writable_rootfs = options.writableRootfs;
  if (options.networkMode !== undefined) wire.network_mode = options.networkMode;
  if (options.runtime !== undefined) wire.runtime = options.runtime;
  if (options.labels !== undefined) wire.labels = options.labels;
  if (options.cmd !== undefined) wire.cmd = options.cmd;
  if (options.egress !== undefined) {
    wire.egress = {
      allow: options.egress.allow,
      ...(options.egress.deny === undefined ? {} : { deny: options.egress.deny }),
    };
  }
  if (options.secrets !== undefined) wire.secrets = options.secrets;
  if (options.publicPorts !== undefined) wire.public_ports = options.publicPorts;
  return wire;
}

export function fileFromWire(wire: WireFileInfo): FileInfo {
  const info: FileInfo = {
    name: wire.name,
    path: wire.path,
    size: wire.size,
    mode: wire.mode,
    modTime: date(wire.mod_time),
    isDir: wire.is_dir,
  };
  if (wire.is_symlink !== undefined) info.isSymlink = wire.is_symlink;
  if (wire.link_target !== undefined) info.linkTarget = wire.link_target;
  return info;
}

export function snapshotFromWire(wire: WireSnapshotInfo): SnapshotInfo {
  return {
    id: wire.id,
    sandboxId: wire.sandbox_id,
    name: wire.name,
    imageId: wire.image_id,
    createdAt: date(wire.created_at),
    size: wire.size,
  };
}

export function statsFromWire(wire: WireSandboxStats): SandboxStats {
  return {
    cpuPercent: wire.cpu_percent,
    memoryUsage: wire.memory_usage,
    memoryLimit: wire.memory_limit,
    memoryPercent: wire.memory_percent,
    networkRx: wire.network_rx,
    networkTx: wire.network_tx,
    diskRead: wire.disk_read,
    diskWrite: wire.disk_write,
    pidCount: wire.pid_count,
    timestamp: date(wire.timestamp),
    ...(wire.egress_refused === undefined ? {} : { egressRefused: wire.egress_refused }),
  };
}
