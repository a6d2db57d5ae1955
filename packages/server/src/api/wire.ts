/**
 * Domain ↔ wire conversions. The wire keeps Den's snake_case keys and Den's conventions: RFC 3339 timestamps with
 * trailing fractional zeros trimmed, `expires_at` always present (the zero instant when none), `ports` omitted when
 * empty, lists never `null`. Burrow's additions appear only when they carry something, so a Den client sees Den's
 * key sets.
 */
import {
  ZERO_TIME,
  type CreateSandboxRequest,
  type ExecResponse,
  type FileInfo as WireFileInfo,
  type S3SyncReport as WireS3SyncReport,
  type Sandbox as WireSandbox,
  type SandboxStats as WireSandboxStats,
  type SnapshotInfo as WireSnapshotInfo,
} from '@burrow/protocol';
import type { z } from 'zod';
import type { CreateSandboxInput } from '../engine/admission.js';
import type { SandboxView, SystemStats } from '../engine/engine.js';
import type { StoredSyncReport } from '../engine/s3-sync.js';
import type { ExecResult, FileInfo, PortMapping, SandboxStats, StorageConfig } from '../runtime/runtime.js';
import type { SnapshotRecord } from '../store/store.js';

/** RFC 3339 in UTC as Go prints it: `2026-03-03T11:44:25.8Z`, `2026-03-03T11:44:25Z`. */
export function rfc3339(date: Date | undefined): string {
  if (date === undefined || Number.isNaN(date.getTime()) || date.getUTCFullYear() <= 1) return ZERO_TIME;
  return date
    .toISOString()
    .replace(/\.(\d*?)0+Z$/, (_match, digits: string) => (digits === '' ? 'Z' : `.${digits}Z`));
}

export interface WirePort {
  sandbox_port: number;
  host_port: number;
  protocol: string;
}

export function portToWire(port: PortMapping): WirePort {
  return { sandbox_port: port.sandboxPort, host_port: port.hostPort, protocol: port.protocol };
}

/**
 * A sandbox as list/create/restore return it; `detail` (GET one sandbox) adds what Den's get adds (`ip`) and
 * Burrow's runtime facts (`network_mode`, `exit_code`).
 */
export function sandboxToWire(view: SandboxView, detail = false): WireSandbox {
  const wire: WireSandbox = {
    id: view.id,
    image: view.image,
    status: view.status,
    created_at: rfc3339(view.createdAt),
    expires_at: rfc3339(view.expiresAt),
  };
  const ports = view.config.ports ?? [];
  if (ports.length > 0) wire.ports = ports.map(portToWire);
  const labels = view.config.labels ?? {};
  if (Object.keys(labels).length > 0) wire.labels = labels;
  if (view.error !== undefined && view.error !== '') wire.error = view.error;
  // Den's keys stay exactly Den's for a default sandbox: the isolation shows in lists only when it is not runc.
  const runtime = view.config.runtime ?? 'runc';
  if (detail || runtime !== 'runc') wire.runtime = runtime;
  if (view.s3Sync !== undefined && view.s3Sync.length > 0) wire.s3_sync = view.s3Sync.map(syncReportToWire);
  if (view.lastActivityAt !== undefined) wire.last_activity_at = rfc3339(view.lastActivityAt);
  if (view.pausedAt !== undefined) wire.paused_at = rfc3339(view.pausedAt);
  // Sandboxes of admin keys (no tenant) keep Den's exact keys.
  if (view.owner !== undefined && view.owner.tenant !== '')
    wire.owner = { tenant: view.owner.tenant, key: view.owner.keyName };
  if (detail) {
    const { egress, secrets, publicPorts } = view.config;
    if (egress !== undefined) wire.egress = { allow: egress.allow, deny: egress.deny };
    if (secrets !== undefined && secrets.length > 0)
      wire.secrets = secrets.map((secret) => ({ host: secret.host, header: secret.header }));
    if (publicPorts !== undefined && publicPorts.length > 0) wire.public_ports = publicPorts;
    if (view.ip !== undefined && view.ip !== '') wire.ip = view.ip;
    if (view.config.networkMode !== undefined) wire.network_mode = view.config.networkMode;
    if (view.exitCode !== undefined) wire.exit_code = view.exitCode;
  }
  return wire;
}

/** How many failures and skips of one sync report the API lists (the counts are always complete). */
const REPORT_ITEMS = 100;

export function syncReportToWire(report: StoredSyncReport): WireS3SyncReport {
  return {
    direction: report.direction,
    bucket: report.bucket,
    prefix: report.prefix,
    sync_path: report.syncPath,
    started_at: rfc3339(new Date(report.startedAt)),
    finished_at: rfc3339(new Date(report.finishedAt)),
    objects: report.objects,
    bytes: report.bytes,
    // Reports stored before the counts existed kept every item, so their lengths are the counts.
    failure_count: report.failureCount ?? report.failures.length,
    skipped_count: report.skippedCount ?? report.skipped.length,
    failures: report.failures.slice(0, REPORT_ITEMS),
    skipped: report.skipped.slice(0, REPORT_ITEMS),
    timed_out: report.timedOut,
  };
}

export function fileInfoToWire(info: FileInfo): WireFileInfo {
  const wire: WireFileInfo = {
    name: info.name,
    path: info.path,
    size: info.size,
    mode: info.mode,
    mod_time: rfc3339(info.modTime),
    is_dir: info.isDir,
  };
  if (info.isSymlink) {
    wire.is_symlink = true;
    if (info.linkTarget !== undefined) wire.link_target = info.linkTarget;
  }
  return wire;
}

export function snapshotToWire(record: SnapshotRecord): WireSnapshotInfo {
  return {
    id: record.id,
    sandbox_id: record.sandboxId,
    name: record.name,
    image_id: record.imageId,
    created_at: rfc3339(record.createdAt),
    size: record.size,
  };
}

export function statsToWire(stats: SandboxStats, egressRefused?: number): WireSandboxStats {
  const wire: WireSandboxStats = {
    cpu_percent: stats.cpuPercent,
    memory_usage: stats.memoryUsage,
    memory_limit: stats.memoryLimit,
    memory_percent: stats.memoryPercent,
    network_rx: stats.networkRx,
    network_tx: stats.networkTx,
    disk_read: stats.diskRead,
    disk_write: stats.diskWrite,
    pid_count: stats.pidCount,
    timestamp: rfc3339(stats.timestamp),
  };
  if (egressRefused !== undefined) wire.egress_refused = egressRefused;
  return wire;
}

export function systemStatsToWire(stats: SystemStats): {
  running_sandboxes: number;
  stopped_sandboxes: number;
  total_sandboxes: number;
  paused_sandboxes?: number;
} {
  const wire = {
    running_sandboxes: stats.running,
    stopped_sandboxes: stats.stopped,
    total_sandboxes: stats.total,
  };
  // Den's three keys, and Burrow's paused count once there is one.
  return stats.paused > 0 ? { ...wire, paused_sandboxes: stats.paused } : wire;
}

/**
 * Output as text: invalid UTF-8 becomes U+FFFD, as Go's JSON encoder does. `truncated` (Burrow) appears only when
 * the output was cut at `exec.max_output_bytes`, so Den clients see Den's keys.
 */
export function execToWire(result: ExecResult): ExecResponse {
  const wire: ExecResponse = {
    exit_code: result.exitCode,
    stdout: result.stdout.toString('utf8'),
    stderr: result.stderr.toString('utf8'),
    timed_out: result.timedOut,
  };
  if (result.truncated) wire.truncated = true;
  return wire;
}

// ---------------------------------------------------------------- requests

type CreateBody = z.output<typeof CreateSandboxRequest>;

function storageFromWire(storage: NonNullable<CreateBody['storage']>): StorageConfig {
  const out: StorageConfig = {};
  if (storage.volumes !== undefined) {
    out.volumes = storage.volumes.map((volume) => ({
      name: volume.name,
      mountPath: volume.mount_path,
      readOnly: volume.read_only === true,
    }));
  }
  if (storage.tmpfs !== undefined) {
    out.tmpfs = storage.tmpfs.map((mount) =>
      mount.options === undefined
        ? { path: mount.path, size: mount.size }
        : { path: mount.path, size: mount.size, options: mount.options },
    );
  }
  const s3 = storage.s3;
  if (s3 !== undefined) {
    out.s3 = { bucket: s3.bucket, mode: s3.mode };
    if (s3.endpoint !== undefined) out.s3.endpoint = s3.endpoint;
    if (s3.prefix !== undefined) out.s3.prefix = s3.prefix;
    if (s3.region !== undefined) out.s3.region = s3.region;
    if (s3.access_key !== undefined) out.s3.accessKey = s3.access_key;
    if (s3.secret_key !== undefined) out.s3.secretKey = s3.secret_key;
    if (s3.mount_path !== undefined) out.s3.mountPath = s3.mount_path;
    if (s3.sync_path !== undefined) out.s3.syncPath = s3.sync_path;
  }
  return out;
}

/** A parsed create body as the engine's input; `timeout` seconds become `timeoutMs` (<= 0 means the default). */
export function createInputFromWire(body: CreateBody): CreateSandboxInput {
  const input: CreateSandboxInput = {};
  if (body.image !== undefined) input.image = body.image;
  if (body.env !== undefined) input.env = body.env;
  if (body.workdir !== undefined) input.workdir = body.workdir;
  if (body.timeout !== undefined && body.timeout > 0) input.timeoutMs = body.timeout * 1000;
  if (body.cpu !== undefined) input.cpu = body.cpu;
  if (body.memory !== undefined) input.memory = body.memory;
  if (body.ports !== undefined) {
    input.ports = body.ports.map((port) => {
      const mapped: { sandboxPort: number; hostPort: number; protocol?: string } = {
        sandboxPort: port.sandbox_port,
        hostPort: port.host_port,
      };
      if (port.protocol !== undefined) mapped.protocol = port.protocol;
      return mapped;
    });
  }
  if (body.storage !== undefined) input.storage = storageFromWire(body.storage);
  if (body.writable_rootfs !== undefined) input.writableRootfs = body.writable_rootfs;
  if (body.network_mode !== undefined) input.networkMode = body.network_mode;
  if (body.labels !== undefined) input.labels = body.labels;
  if (body.cmd !== undefined) input.cmd = body.cmd;
  if (body.pid_limit !== undefined) input.pidLimit = body.pid_limit;
  if (body.disk_limit !== undefined) input.diskLimit = body.disk_limit;
  if (body.runtime !== undefined && body.runtime !== '') input.runtime = body.runtime;
  if (body.egress !== undefined) {
    input.egress = {};
    if (body.egress.allow !== undefined) input.egress.allow = body.egress.allow;
    if (body.egress.deny !== undefined) input.egress.deny = body.egress.deny;
  }
  if (body.secrets !== undefined) input.secrets = body.secrets;
  if (body.public_ports !== undefined) input.publicPorts = body.public_ports;
  return input;
}
