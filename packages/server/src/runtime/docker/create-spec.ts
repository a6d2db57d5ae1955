/**
 * Turns a SandboxConfig into a Docker container-create request: the security profile, limits, mounts and labels
 * of design.md §4. Pure, so it is unit-tested without an engine.
 */
import { isAbsolute } from 'node:path';
import type Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import type { SandboxConfig, TmpfsMount } from '../runtime.js';
import { sandboxPathString } from '../paths.js';
import { mergeTmpfs, tmpfsOptionString } from '../../storage/tmpfs.js';
import { dockerVolumeName } from '../../storage/volumes.js';
import { BURROW_VERSION } from '../../version.js';
import { checkCallerLabels, publicConfig } from '../sandbox-config.js';
import { containerName, LABEL } from './labels.js';
import type { AgentMounts } from './access/sandbox-access.js';
import { GVISOR_PIDS_OVERHEAD } from './limits.js';

/** Capabilities a sandbox keeps: what package managers and `su`-style tools in a normal image need, no more. */
export const SANDBOX_CAPABILITIES = [
  'NET_BIND_SERVICE',
  'CHOWN',
  'SETUID',
  'SETGID',
  'DAC_OVERRIDE',
  'FOWNER',
];
export const DEFAULT_PID_LIMIT = 256;

/** Where the agent lives inside a sandbox. */
export const AGENT_BIN_DIR = '/.burrow/bin';
export const AGENT_PATH = `${AGENT_BIN_DIR}/burrow-agent`;
/** The channel directory: the server's socket for this sandbox, bound read-only (agent/PROTOCOL.md, "Channel"). */
export const AGENT_CHANNEL_DIR = '/.burrow/channel';
export const AGENT_CHANNEL_SOCKET = `${AGENT_CHANNEL_DIR}/agent.sock`;

/** Main process of an agent-less sandbox whose image has no command (busybox and coreutils both take it). */
export const KEEP_ALIVE = ['sleep', 'infinity'];

export interface ImageDefaults {
  user: string;
  entrypoint: string[];
  cmd: string[];
}

export interface SpecContext {
  imageDefaults: ImageDefaults;
  /** Host paths of the agent binary and of this sandbox's channel directory; absent when no agent is used. */
  agent?: AgentMounts;
  /** Managed network name for `internal` / `bridge` mode. */
  networkName: string;
  /** Docker's name of the OCI runtime to run the container with (config.runtime mapped by DockerRuntime). */
  ociRuntime?: string;
  defaultTmpfs: readonly TmpfsMount[];
  createdAt: Date;
  /** The owning installation (see LABEL.instance). */
  instance: string;
  /** Warm-pool key of an idle pool member (LABEL.pool). */
  pool?: string;
}

/**
 * The engine's S3 FUSE bind (SandboxConfig.s3FuseBind): the host directory s3fs mounts the bucket on, bound at the
 * sandbox's `storage.s3.mount_path`. Slave propagation lets a re-mount on the host (after s3fs died or the server
 * restarted) reach the running sandbox; the sandbox itself never gets SYS_ADMIN or /dev/fuse.
 */
function s3FuseBindMount(config: SandboxConfig): Dockerode.MountSettings | undefined {
  const bind = config.s3FuseBind;
  if (bind === undefined) return undefined;
  const target = sandboxPathString(bind.mountPath, 'storage.s3.mount_path');
  if (!isAbsolute(bind.hostDir) || config.storage?.s3?.mode !== 'fuse') {
    throw new BurrowError(
      'INTERNAL',
      'an S3 FUSE bind needs an absolute host directory and storage.s3.mode "fuse"',
    );
  }
  if (target === '/' || target === '/.burrow' || target.startsWith('/.burrow/')) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `storage.s3.mount_path ${target} is reserved: choose another directory, e.g. /mnt/s3`,
    );
  }
  return {
    Type: 'bind',
    Source: bind.hostDir,
    Target: target,
    ReadOnly: false,
    BindOptions: { Propagation: 'rslave' },
  };
}

/** What programs read to find a proxy (both spellings: curl reads lower case, others upper). */
function proxyEnvironment(port: number): string[] {
  const url = `http://127.0.0.1:${port}`;
  return ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']
    .map((name) => `${name}=${url}`)
    .concat(['NO_PROXY=localhost,127.0.0.1,::1', 'no_proxy=localhost,127.0.0.1,::1']);
}

function mainArgv(config: SandboxConfig, image: ImageDefaults): string[] {
  return [...image.entrypoint, ...(config.cmd ?? image.cmd)];
}

export function containerSpec(
  id: string,
  config: SandboxConfig,
  context: SpecContext,
): Dockerode.ContainerCreateOptions {
  checkCallerLabels(config.labels);
  const networkMode = config.networkMode ?? 'internal';
  const fuseBind = s3FuseBindMount(config);
  const tmpfs: Record<string, string> = {};
  for (const mount of mergeTmpfs(context.defaultTmpfs, config.storage?.tmpfs)) {
    // An S3 mount asked for at a tmpfs path (e.g. /home/sandbox) takes that path's place.
    if (mount.path !== fuseBind?.Target) tmpfs[mount.path] = tmpfsOptionString(mount);
  }

  const mounts: Dockerode.MountSettings[] = (config.storage?.volumes ?? []).map((volume) => ({
    Type: 'volume',
    Source: dockerVolumeName(volume.name),
    Target: volume.mountPath,
    ReadOnly: volume.readOnly,
    // Labels apply when this mount creates the volume; an existing volume is used as it is.
    VolumeOptions: {
      NoCopy: false,
      Labels: { [LABEL.managed]: 'true' },
      DriverConfig: { Name: 'local', Options: {} },
    },
  }));
  if (fuseBind !== undefined) mounts.push(fuseBind);

  const argv = mainArgv(config, context.imageDefaults);
  let entrypoint: string[];
  let user: string | undefined;
  if (context.agent === undefined) {
    // The Engine API path: the image's own command as the image's user; an image without one is kept alive
    // (Docker's init forwards a stop's SIGTERM to it, so stops stay fast).
    entrypoint = argv.length === 0 ? KEEP_ALIVE : argv;
  } else {
    mounts.push({ Type: 'bind', Source: context.agent.binaryPath, Target: AGENT_PATH, ReadOnly: true });
    const channel: string[] = [];
    if (context.agent.channelDir !== undefined) {
      // Read-only: the sandbox can neither replace the socket nor write to the host through this directory.
      mounts.push({
        Type: 'bind',
        Source: context.agent.channelDir,
        Target: AGENT_CHANNEL_DIR,
        ReadOnly: true,
      });
      channel.push('--channel', AGENT_CHANNEL_SOCKET);
      if (context.agent.egressPort !== undefined) channel.push('--egress', String(context.agent.egressPort));
    }
    // The agent runs as root so that it can switch to any user; it drops to the image's user for the main process
    // and for every request (agent/PROTOCOL.md).
    entrypoint = [AGENT_PATH, 'init', ...channel, '--user', context.imageDefaults.user, '--', ...argv];
    user = '0:0';
  }

  // A proxy-only sandbox: no interface but loopback, and its programs' proxy variables point at the agent.
  const proxied = config.egress !== undefined && context.agent?.egressPort !== undefined;
  const proxyEnv = proxied ? proxyEnvironment(context.agent?.egressPort ?? 0) : [];

  const memory = config.memory ?? 0;
  const labels: Record<string, string> = {
    ...config.labels,
    [LABEL.managed]: 'true',
    [LABEL.instance]: context.instance,
    [LABEL.id]: id,
    [LABEL.created]: context.createdAt.toISOString(),
    [LABEL.version]: BURROW_VERSION,
    [LABEL.config]: JSON.stringify(publicConfig(config)),
    [LABEL.user]: context.imageDefaults.user,
    [LABEL.imageDefaults]: JSON.stringify(context.imageDefaults),
    [LABEL.pool]: context.pool ?? '',
  };

  const hostConfig: Dockerode.HostConfig = {
    Init: true,
    CapDrop: ['ALL'],
    CapAdd: SANDBOX_CAPABILITIES,
    SecurityOpt: ['no-new-privileges'],
    ReadonlyRootfs: config.writableRootfs !== true,
    Tmpfs: tmpfs,
    Mounts: mounts,
    PidsLimit:
      (config.pidLimit !== undefined && config.pidLimit > 0 ? config.pidLimit : DEFAULT_PID_LIMIT) +
      (config.runtime === 'gvisor' ? GVISOR_PIDS_OVERHEAD : 0),
    NanoCpus: config.cpu ?? 0,
    Memory: memory,
    // No swap beyond the memory limit, so the limit means what it says.
    MemorySwap: memory > 0 ? memory : 0,
    NetworkMode: networkMode === 'none' || proxied ? 'none' : context.networkName,
    // Ports are never published by Docker: Burrow's server publishes `config.ports` through a connection the agent
    // makes inside the sandbox (proxy/port-publisher.ts), the same in every network mode and isolation runtime.
    PortBindings: {},
    LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '1' } },
    RestartPolicy: { Name: 'no' },
  };
  if (config.diskLimit !== undefined && config.diskLimit > 0)
    hostConfig.StorageOpt = { size: String(config.diskLimit) };
  if (context.ociRuntime !== undefined) hostConfig.Runtime = context.ociRuntime;

  const spec: Dockerode.ContainerCreateOptions = {
    name: containerName(id),
    Image: config.image,
    Entrypoint: entrypoint,
    Cmd: [],
    Env: [...proxyEnv, ...Object.entries(config.env ?? {}).map(([key, value]) => `${key}=${value}`)],
    Labels: labels,
    // A terminal on stdin keeps shell-command images (CMD ["bash"]) alive.
    Tty: true,
    OpenStdin: true,
    ExposedPorts: {},
    HostConfig: hostConfig,
  };
  if (user !== undefined) spec.User = user;
  if (config.workdir !== undefined && config.workdir !== '') spec.WorkingDir = config.workdir;
  return spec;
}
