/**
 * The Runtime on a Docker engine, through the Engine API (dockerode). Each sandbox is one container. With the
 * agent, it runs Burrow's agent as its entrypoint and exec and file calls reach the agent over a unix socket (the
 * fast path) or through `docker exec`; without it (transport `engine`, see transport.ts), they are `docker exec`s
 * of the image's own shell and tools (engine-path/).
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import { builtAgentBinary } from '../agent/agent-binary.js';
import { AgentChannels } from '../agent/channel-listener.js';
import { checkExecOptions, checkPtySize, collectExec, execStreamFrom } from '../exec-support.js';
import { checkProcessId, checkProcessOptions } from '../process-options.js';
import { checkConnectHost, checkPort } from '../ports.js';
import type { Duplex } from 'node:stream';
import { listLimit } from '../listing.js';
import { sandboxPathBytes } from '../paths.js';
import type {
  CreateOptions,
  ForkOptions,
  ExecOptions,
  ExecResult,
  ExecStream,
  FileData,
  AttachOptions,
  ConnectOptions,
  DirListing,
  EgressHandler,
  FileInfo,
  FileRead,
  IsolationSupport,
  ListOptions,
  ProcessAttachment,
  ProcessInfo,
  ProcessInputOptions,
  ProcessStartOptions,
  PtySize,
  WatchOptions,
  WatchStream,
  RestoreOptions,
  SnapshotOptions,
  Runtime,
  RuntimeEvent,
  SandboxConfig,
  SandboxInfo,
  SandboxLimits,
  SandboxMemory,
  SandboxPath,
  SandboxStats,
  SnapshotInfo,
  TmpfsMount,
  WriteFileOptions,
} from '../runtime.js';
import { DEFAULT_TMPFS } from '../../storage/tmpfs.js';
import { silentLogger, type Logger } from '../../logger.js';
import { AgentAccess } from './access/agent-access.js';
import { guardPaused } from './access/paused-guard.js';
import { EngineAccess } from './access/engine-access.js';
import { ExecConnector } from './access/exec-connector.js';
import type { SandboxAccess } from './access/sandbox-access.js';
import { SocketConnector } from './access/socket-connector.js';
import { Cgroups, type CgroupOptions } from './cgroups.js';
import { containerSpec, type ImageDefaults } from './create-spec.js';
import { checkMemoryLimit, dockerMessage, dockerStatus, fromDockerError } from './docker-errors.js';
import { dockerEvents } from './events.js';
import { ImageDefaultsCache } from './images.js';
import { containerName, instanceFilter, LABEL, MANAGED_FILTER } from './labels.js';
import type { BridgeFirewall } from './bridge-firewall.js';
import { ManagedNetworks } from './networks.js';
import { CgroupLimits } from './cgroup-limits.js';
import { Isolations, type GvisorRuntimes } from './isolation.js';
import { cgroupUpdate, checkLimits, engineUpdate } from './limits.js';
import { infoFromInspect } from './sandbox-info.js';
import { DockerSnapshots } from './snapshots.js';
import { statsFromDocker, type DockerStats } from './stats.js';
import { chooseTransport, type AgentTransport } from './transport.js';

export type { AgentTransport } from './transport.js';

export interface DockerRuntimeOptions {
  /** Directory for per-sandbox sockets, snapshot data and the agent binary; created if missing. */
  stateDir: string;
  docker?: Dockerode;
  /** The agent binary on this host; defaults to the one the build produced. */
  agentBinary?: string;
  /**
   * Defaults to `socket` when the agent binary exists and the engine is on this host, else `engine` (no agent).
   */
  transport?: AgentTransport;
  /** Prefix of managed network names (`<prefix>-internal`, `<prefix>-bridge`). */
  networkPrefix?: string;
  /** Sandboxes one managed network holds before the next one is used (networks.ts; tests make it small). */
  sandboxesPerNetwork?: number;
  defaultTmpfs?: readonly TmpfsMount[];
  /** Names this installation on the resources it creates; list, events and snapshots see only its own. */
  instance?: string;
  /** Docker's names of the gVisor registrations (isolation.ts); defaults `runsc` and `runsc-net`. */
  gvisor?: GvisorRuntimes;
  /** Where proxy-only sandboxes' connections go (the egress proxy); without it, egress policies are refused. */
  egress?: EgressHandler;
  /** `DOCKER_HOST` as config.ts read it: a remote engine cannot mount the agent binary. */
  dockerHost?: string;
  /** Filters the bridge network (no metadata, internal ranges or host addresses); none: bridge egress unfiltered. */
  bridgeFirewall?: BridgeFirewall;
  logger?: Logger;
  /** Where the host's cgroup filesystem and /proc are (tests point them at fake trees). */
  cgroups?: CgroupOptions;
}

export class DockerRuntime implements Runtime {
  private readonly docker: Dockerode;
  /** How exec, file and archive calls reach inside a sandbox (one implementation per path). */
  private readonly access: SandboxAccess;
  private readonly networks: ManagedNetworks;
  private readonly defaultTmpfs: readonly TmpfsMount[];
  private readonly logger: Logger;
  private readonly users = new Map<string, string>();
  private readonly instance: string;
  private readonly snapshots: DockerSnapshots;
  /** Reads sandboxes' memory cgroups and sets soft limits there (the pressure monitor's view). */
  private readonly memoryCgroups: Cgroups;
  /** Sandboxes seen paused (by this runtime's pause, or by inspect): in-sandbox calls are refused at once. */
  private readonly paused = new Set<string>();
  private diskQuotaSupport: Promise<boolean> | undefined;
  private readonly isolation: Isolations;
  private readonly cgroups = new CgroupLimits();
  private readonly imageDefaults: ImageDefaultsCache;
  /** The agents' channels (socket transport only). */
  private channels: AgentChannels | undefined;

  private constructor(
    private readonly options: DockerRuntimeOptions,
    agentBinary: string,
    transport: AgentTransport,
  ) {
    this.docker = options.docker ?? new Dockerode();
    this.isolation = new Isolations(this.docker, options.gvisor);
    this.imageDefaults = new ImageDefaultsCache(this.docker);
    this.access = guardPaused(this.makeAccess(transport, agentBinary), this.paused);
    this.memoryCgroups = new Cgroups(options.cgroups);
    this.networks = new ManagedNetworks(
      this.docker,
      options.networkPrefix ?? 'burrow',
      options.bridgeFirewall,
      options.sandboxesPerNetwork,
    );
    this.defaultTmpfs = options.defaultTmpfs ?? DEFAULT_TMPFS;
    this.logger = options.logger ?? silentLogger;
    this.instance = options.instance ?? 'default';
    this.snapshots = new DockerSnapshots({
      docker: this.docker,
      instance: this.instance,
      dir: join(options.stateDir, 'snapshots'),
      archiver: (id) => this.access.archiver(id),
      archiveFormat: this.access.archiveFormat,
      create: (id, config, defaults) => this.createContainer(id, config, defaults),
      start: (id) => this.start(id),
      remove: (id) => this.remove(id),
      inspect: (id) => this.inspect(id),
    });
  }

  private makeAccess(transport: AgentTransport, binaryPath: string): SandboxAccess {
    const userOf = (id: string) => this.imageUser(id);
    if (transport === 'engine') return new EngineAccess(this.docker, userOf);
    const unreachable = (id: string, cause: unknown) => this.unreachable(id, cause);
    if (transport === 'exec')
      return new AgentAccess(new ExecConnector({ docker: this.docker, binaryPath, userOf, unreachable }));
    this.channels = new AgentChannels(join(this.options.stateDir, 'channels'), {
      ...(this.options.logger === undefined ? {} : { logger: this.options.logger }),
    });
    return new AgentAccess(
      new SocketConnector({
        binaryPath,
        channels: this.channels,
        unreachable,
        ...(this.options.egress === undefined ? {} : { egress: this.options.egress }),
      }),
    );
  }

  /** The path into sandboxes this runtime uses. */
  get transport(): AgentTransport {
    return this.access.transport;
  }

  /**
   * Prepares the state directory and a private copy of the agent binary (so rebuilding never breaks sandboxes);
   * without the binary, or with a remote engine, the Engine API path is used (logged with the reason).
   */
  static async open(options: DockerRuntimeOptions): Promise<DockerRuntime> {
    const candidate = options.agentBinary ?? builtAgentBinary();
    const source = candidate !== undefined && existsSync(candidate) ? candidate : undefined;
    const { transport, reason } = chooseTransport(options.transport, source, options.dockerHost);
    await mkdir(join(options.stateDir, 'channels'), { recursive: true, mode: 0o700 });
    const binary = join(options.stateDir, 'bin', 'burrow-agent');
    if (transport === 'engine' || source === undefined) {
      (options.logger ?? silentLogger).info(
        { transport, reason },
        "the Engine API path is active: exec and files run through docker exec of the image's own shell and tools, without the burrow-agent",
      );
      const runtime = new DockerRuntime(options, binary, 'engine');
      await runtime.networks.reconcileFirewall();
      return runtime;
    }
    await mkdir(join(options.stateDir, 'bin'), { recursive: true, mode: 0o755 });
    const staging = `${binary}.${process.pid}.tmp`;
    await copyFile(source, staging);
    await chmod(staging, 0o755);
    await rename(staging, binary);
    const runtime = new DockerRuntime(options, binary, transport);
    await runtime.networks.reconcileFirewall();
    await runtime.listenForRunning();
    return runtime;
  }

  /** After a restart: the agents of sandboxes that still run reconnect to their channels as soon as these listen. */
  private async listenForRunning(): Promise<void> {
    if (this.channels === undefined) return;
    const channels = this.channels;
    for (const info of await this.list()) {
      if (info.status !== 'running') continue;
      const egress = info.config?.egress === undefined ? undefined : this.options.egress;
      await channels.listen(info.id, egress);
    }
  }

  /** Stops listening on the agents' channels (server shutdown); sandboxes keep running. */
  close(): void {
    this.channels?.closeAll();
  }

  async isolations(): Promise<IsolationSupport[]> {
    try {
      return await this.isolation.support();
    } catch (error) {
      throw fromDockerError(error, "reading the Docker engine's runtimes");
    }
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw fromDockerError(error, 'pinging the Docker engine');
    }
  }

  // ---------------------------------------------------------------- lifecycle

  async create(id: string, config: SandboxConfig, options: CreateOptions = {}): Promise<void> {
    const defaults = await this.imageDefaults.get(config.image, options.onProgress);
    await this.createContainer(id, config, defaults, options.pool);
  }

  private async createContainer(
    id: string,
    config: SandboxConfig,
    imageDefaults: ImageDefaults,
    pool?: string,
  ): Promise<void> {
    checkMemoryLimit(config.memory ?? 0);
    if (config.diskLimit !== undefined && config.diskLimit > 0 && !(await this.supportsDiskQuota())) {
      throw new BurrowError(
        'POLICY_VIOLATION',
        'disk_limit cannot be enforced on this host: Docker needs the overlay2 driver on xfs with project quotas; omit disk_limit',
      );
    }
    const mode = config.networkMode ?? 'internal';
    const networkName = mode === 'none' ? '' : (config.networkId ?? (await this.networks.pick(mode)));
    const ociRuntime = await this.isolation.ociRuntime(config);
    const agent = await this.access.prepare(id, config);
    const spec = containerSpec(id, config, {
      ...(ociRuntime === undefined ? {} : { ociRuntime }),
      imageDefaults,
      ...(agent === undefined ? {} : { agent }),
      networkName,
      defaultTmpfs: this.defaultTmpfs,
      createdAt: new Date(),
      instance: this.instance,
      ...(pool === undefined ? {} : { pool }),
    });
    if (mode !== 'none') await this.networks.ensure(networkName, mode);
    try {
      try {
        await this.docker.createContainer(spec);
      } catch (error) {
        // The managed network was pruned by another installation sharing its name: recreate it and retry once.
        if (mode === 'none' || dockerStatus(error) !== 404 || !/network/i.test(dockerMessage(error)))
          throw error;
        await this.networks.recreate(networkName, mode);
        await this.docker.createContainer(spec);
      }
    } catch (error) {
      await this.access.release(id);
      if (dockerStatus(error) === 409) {
        throw new BurrowError('ALREADY_EXISTS', `a sandbox with id ${id} already exists`, undefined, {
          cause: error,
        });
      }
      if (dockerStatus(error) === 404) {
        this.imageDefaults.forget(config.image);
        throw new BurrowError(
          'IMAGE_NOT_FOUND',
          `image "${config.image}" was removed while the sandbox was being created`,
        );
      }
      throw fromDockerError(error, `creating sandbox ${id}`);
    }
    await this.access.checkCreated(id, config.image).catch(async (error: unknown) => {
      await this.remove(id);
      throw error;
    });
    this.users.set(id, imageDefaults.user);
  }

  private supportsDiskQuota(): Promise<boolean> {
    this.diskQuotaSupport ??= this.docker
      .info()
      .then((info: { Driver?: string; DriverStatus?: [string, string][] }) => {
        const backing = info.DriverStatus?.find(([key]) => key === 'Backing Filesystem')?.[1];
        return info.Driver === 'overlay2' && backing === 'xfs';
      });
    return this.diskQuotaSupport;
  }

  async start(id: string): Promise<void> {
    const container = this.docker.getContainer(containerName(id));
    try {
      try {
        await container.start();
      } catch (error) {
        // 304: already running. Starting a running sandbox is a no-op (as in Den), not a failure.
        if (dockerStatus(error) === 304) return;
        // Another installation sharing the managed network's name may have pruned it meanwhile: recreate, retry.
        if (dockerStatus(error) !== 404 || !/network .*not found/i.test(dockerMessage(error))) throw error;
        const inspect = await container.inspect();
        const mode = (await this.info(id)).config?.networkMode ?? 'internal';
        if (mode === 'none') throw error;
        await this.networks.recreate(inspect.HostConfig.NetworkMode ?? this.networks.nameFor(mode), mode);
        await container.start();
      }
    } catch (error) {
      throw fromDockerError(error, `starting sandbox ${id}`, 'SANDBOX_NOT_FOUND', 'sandbox not found');
    }
    await this.access.ready(id, () => this.checkStarted(id));
  }

  /** A sandbox whose main process exited right after starting cannot answer: say so, with its exit code. */
  private async checkStarted(id: string): Promise<void> {
    const info = await this.info(id);
    if (info.status !== 'running' && info.status !== 'creating') {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox ${id} stopped right after starting (exit code ${info.exitCode ?? 'unknown'}): check its command and image`,
      );
    }
  }

  /**
   * A frozen container cannot act on a stop signal, and runsc leaves its sandbox behind (the next start fails with
   * "id already in use") when a paused container is killed: thaw it first.
   */
  private async thawForShutdown(container: Dockerode.Container, paused: boolean): Promise<void> {
    if (!paused) return;
    await container.unpause().catch(() => undefined);
  }

  async stop(id: string, timeoutMs = 10_000): Promise<void> {
    const container = this.docker.getContainer(containerName(id));
    const paused = await container.inspect().then(
      (inspect) => inspect.State.Paused,
      () => false,
    );
    await this.thawForShutdown(container, paused);
    this.paused.delete(id);
    try {
      await container.stop({ t: Math.max(0, Math.ceil(timeoutMs / 1000)) });
    } catch (error) {
      if (dockerStatus(error) === 304) return;
      throw fromDockerError(error, `stopping sandbox ${id}`, 'SANDBOX_NOT_FOUND', 'sandbox not found');
    }
  }

  async remove(id: string): Promise<void> {
    const container = this.docker.getContainer(containerName(id));
    const inspect = await container.inspect().catch(() => undefined);
    const image = inspect?.Image;
    await this.thawForShutdown(container, inspect?.State.Paused === true);
    try {
      await container.remove({ force: true, v: true });
    } catch (error) {
      const status = dockerStatus(error);
      // 404: already gone. 409: removal already in progress elsewhere.
      if (status !== 404 && status !== 409) throw fromDockerError(error, `removing sandbox ${id}`);
    }
    const network = inspect?.HostConfig.NetworkMode;
    if (network !== undefined) this.networks.released(network);
    this.users.delete(id);
    this.paused.delete(id);
    await this.access.release(id);
    // A fork's (or a removed snapshot's) untagged image goes with the last sandbox using it.
    if (image !== undefined) await this.snapshots.removeIfUnused(image);
  }

  async pause(id: string): Promise<void> {
    const inspect = await this.inspect(id);
    if (inspect.State.Paused) {
      this.paused.add(id);
      return;
    }
    if (!inspect.State.Running) {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox ${id} is not running: only a running sandbox can be paused`,
      );
    }
    // Marked first, so that no call reaches a frozen agent.
    this.paused.add(id);
    try {
      await this.docker.getContainer(inspect.Id).pause();
    } catch (error) {
      this.paused.delete(id);
      if (dockerStatus(error) === 409 && /already paused/i.test(dockerMessage(error))) {
        this.paused.add(id);
        return;
      }
      throw fromDockerError(error, `pausing sandbox ${id}`, 'SANDBOX_NOT_FOUND', 'sandbox not found');
    }
  }

  async resume(id: string): Promise<void> {
    const inspect = await this.inspect(id);
    if (!inspect.State.Paused) {
      this.paused.delete(id);
      if (inspect.State.Running) return;
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox ${id} is not paused but stopped: start it instead`,
      );
    }
    try {
      await this.docker.getContainer(inspect.Id).unpause();
    } catch (error) {
      if (!(dockerStatus(error) === 409 && /not paused/i.test(dockerMessage(error)))) {
        throw fromDockerError(error, `resuming sandbox ${id}`, 'SANDBOX_NOT_FOUND', 'sandbox not found');
      }
    }
    this.paused.delete(id);
  }

  /** Keeps the paused set true to what inspect saw (a pause made outside Burrow, or before a restart). */
  private observed(info: SandboxInfo): SandboxInfo {
    if (info.status === 'paused') this.paused.add(info.id);
    else this.paused.delete(info.id);
    return info;
  }

  private async inspect(id: string): Promise<Dockerode.ContainerInspectInfo> {
    let inspect: Dockerode.ContainerInspectInfo;
    try {
      inspect = await this.docker.getContainer(containerName(id)).inspect();
    } catch (error) {
      throw fromDockerError(error, `inspecting sandbox ${id}`, 'SANDBOX_NOT_FOUND', 'sandbox not found');
    }
    const labels = inspect.Config.Labels ?? {};
    if (labels[LABEL.managed] !== 'true' || labels[LABEL.instance] !== this.instance) {
      throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
    }
    return inspect;
  }

  async info(id: string): Promise<SandboxInfo> {
    return this.observed(infoFromInspect(await this.inspect(id)));
  }

  async list(): Promise<SandboxInfo[]> {
    let containers: Dockerode.ContainerInfo[];
    try {
      containers = await this.docker.listContainers({
        all: true,
        filters: { label: [MANAGED_FILTER, instanceFilter(this.instance)] },
      });
    } catch (error) {
      throw fromDockerError(error, 'listing sandboxes');
    }
    const infos = await Promise.all(
      containers.map(async (container) => {
        try {
          return this.observed(infoFromInspect(await this.docker.getContainer(container.Id).inspect()));
        } catch (error) {
          if (dockerStatus(error) === 404) return undefined; // removed meanwhile
          throw fromDockerError(error, 'listing sandboxes');
        }
      }),
    );
    return infos.filter((info): info is SandboxInfo => info !== undefined);
  }

  // ---------------------------------------------------------------- reaching inside

  /** Why a sandbox cannot be reached: missing, stopped, or (if neither) an internal failure. */
  private async unreachable(id: string, cause: unknown): Promise<Error> {
    if (dockerStatus(cause) === 404) return new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
    if (isBurrowError(cause) && !['INTERNAL', 'AGENT_UNREACHABLE'].includes(cause.code)) return cause;
    const info = await this.info(id);
    if (info.status !== 'running') {
      return new BurrowError('SANDBOX_NOT_RUNNING', `sandbox ${id} is ${info.status}: start it first`);
    }
    if (isBurrowError(cause)) return cause;
    return new BurrowError('AGENT_UNREACHABLE', `cannot reach the agent in sandbox ${id}`, undefined, {
      cause,
    });
  }

  /** The image's user, which a sandbox's processes run as ('' for the image default, root). */
  private async imageUser(id: string): Promise<string> {
    let user = this.users.get(id);
    if (user === undefined) {
      user = (await this.inspect(id)).Config.Labels?.[LABEL.user] ?? '';
      this.users.set(id, user);
    }
    return user;
  }

  // ---------------------------------------------------------------- exec

  async execStream(id: string, options: ExecOptions): Promise<ExecStream> {
    checkExecOptions(options);
    options.signal?.throwIfAborted();
    return execStreamFrom(await this.access.exec(id, options), options);
  }

  async exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return collectExec(await this.execStream(id, options), options);
  }

  // ---------------------------------------------------------------- files

  async readFile(id: string, path: SandboxPath): Promise<FileRead> {
    return this.access.readFile(id, sandboxPathBytes(path));
  }

  async writeFile(
    id: string,
    path: SandboxPath,
    data: FileData,
    options: WriteFileOptions = {},
  ): Promise<{ bytes: number }> {
    const bytes = sandboxPathBytes(path);
    if (bytes.length === 1)
      throw new BurrowError('IS_A_DIRECTORY', '/: the path is a directory; give the path of a file');
    options.signal?.throwIfAborted();
    return this.access.writeFile(id, bytes, options.mode ?? 0o644, data);
  }

  async listDir(id: string, path: SandboxPath, options: ListOptions = {}): Promise<DirListing> {
    return this.access.listDir(id, sandboxPathBytes(path), listLimit(options));
  }

  async stat(id: string, path: SandboxPath): Promise<FileInfo> {
    return this.access.stat(id, sandboxPathBytes(path));
  }

  async mkdir(id: string, path: SandboxPath): Promise<void> {
    return this.access.mkdir(id, sandboxPathBytes(path));
  }

  async removeFile(id: string, path: SandboxPath): Promise<void> {
    const bytes = sandboxPathBytes(path);
    if (bytes.length === 1) throw new BurrowError('INVALID_PATH', 'refusing to remove /');
    return this.access.remove(id, bytes);
  }

  // ---------------------------------------------------------------- snapshots

  snapshot(id: string, name: string, options: SnapshotOptions = {}): Promise<SnapshotInfo> {
    return this.snapshots.create(id, name, options);
  }

  restore(snapshotId: string, options: RestoreOptions = {}): Promise<string> {
    return this.snapshots.restore(snapshotId, options);
  }

  fork(id: string, ids: readonly string[], options: ForkOptions = {}): Promise<void> {
    if (this.paused.has(id)) {
      return Promise.reject(
        new BurrowError('SANDBOX_NOT_RUNNING', `sandbox ${id} is paused: resume it first`),
      );
    }
    return this.snapshots.fork(id, ids, options);
  }

  listSnapshots(sandboxId?: string): Promise<SnapshotInfo[]> {
    return this.snapshots.list(sandboxId);
  }

  removeSnapshot(snapshotId: string): Promise<void> {
    return this.snapshots.remove(snapshotId);
  }

  // ---------------------------------------------------------------- resources

  async stats(id: string): Promise<SandboxStats> {
    const container = this.docker.getContainer(containerName(id));
    await this.inspect(id);
    try {
      // A non-streaming, non-one-shot read: the engine samples twice, so CPU is over a real interval.
      const raw = (await container.stats({ stream: false })) as DockerStats;
      return statsFromDocker(raw);
    } catch (error) {
      throw fromDockerError(
        error,
        `reading stats of sandbox ${id}`,
        'SANDBOX_NOT_FOUND',
        'sandbox not found',
      );
    }
  }

  async updateMemoryLimit(id: string, bytes: number): Promise<void> {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        'memory limit must be a whole number of bytes, 0 to remove it',
      );
    }
    await this.updateLimits(id, { memory: bytes });
  }

  async updateLimits(id: string, limits: SandboxLimits): Promise<void> {
    checkLimits(limits);
    if (Object.values(limits).every((value) => value === undefined)) return;
    const inspect = await this.inspect(id);
    try {
      if (this.isolation.isGvisor(inspect.HostConfig.Runtime)) {
        await this.cgroups.apply(
          { id: inspect.Id, parent: inspect.HostConfig.CgroupParent ?? '' },
          cgroupUpdate(limits),
        );
      } else {
        await this.docker.getContainer(containerName(id)).update(engineUpdate(limits));
      }
    } catch (error) {
      if (isBurrowError(error)) throw error;
      throw fromDockerError(
        error,
        `updating the limits of sandbox ${id}`,
        'SANDBOX_NOT_FOUND',
        'sandbox not found',
      );
    }
  }

  // ---------------------------------------------------------------- processes and watches

  async startProcess(id: string, options: ProcessStartOptions): Promise<ProcessInfo> {
    checkProcessOptions(options);
    return this.access.startProcess(id, options);
  }

  async listProcesses(id: string): Promise<ProcessInfo[]> {
    return this.access.listProcesses(id);
  }

  async getProcess(id: string, processId: string): Promise<ProcessInfo> {
    return this.access.getProcess(id, checkProcessId(processId));
  }

  async attachProcess(
    id: string,
    processId: string,
    options: AttachOptions = {},
  ): Promise<ProcessAttachment> {
    return this.access.attachProcess(id, checkProcessId(processId), options);
  }

  async waitProcess(
    id: string,
    processId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ProcessInfo> {
    return this.access.waitProcess(id, checkProcessId(processId), timeoutMs, signal);
  }

  async sendProcessInput(
    id: string,
    processId: string,
    data: Uint8Array,
    options: ProcessInputOptions = {},
  ): Promise<void> {
    return this.access.sendProcessInput(id, checkProcessId(processId), data, options);
  }

  async signalProcess(id: string, processId: string, signal: string): Promise<void> {
    return this.access.signalProcess(id, checkProcessId(processId), signal);
  }

  async killProcess(id: string, processId: string): Promise<void> {
    return this.access.killProcess(id, checkProcessId(processId));
  }

  async resizeProcess(id: string, processId: string, size: PtySize): Promise<void> {
    checkPtySize(size);
    return this.access.resizeProcess(id, checkProcessId(processId), size);
  }

  async watch(id: string, path: SandboxPath, options: WatchOptions = {}): Promise<WatchStream> {
    return this.access.watch(id, sandboxPathBytes(path), options);
  }

  async connectPort(id: string, port: number, options: ConnectOptions = {}): Promise<Duplex> {
    options.signal?.throwIfAborted();
    return this.access.connectPort(id, checkPort(port), checkConnectHost(options.host));
  }

  async updateMemorySoftLimit(id: string, bytes: number): Promise<void> {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        'soft memory limit must be a whole number of bytes, 0 to remove it',
      );
    }
    if (bytes > 0 && bytes < 6 * 1024 * 1024) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        'soft memory limit must be at least 6 MiB (Docker refuses less)',
      );
    }
    const inspect = await this.inspect(id);
    const hard = inspect.HostConfig.Memory ?? 0;
    // A soft limit above the hard one means nothing (and the engine refuses it).
    const soft = hard > 0 && bytes > hard ? hard : bytes;
    if (this.memoryCgroups.version === 'v2') {
      const dir = await this.memoryCgroups.memoryDir(inspect.Id, inspect.State.Pid);
      if (dir === undefined) {
        throw new BurrowError(
          'NOT_SUPPORTED',
          `cannot reach the cgroup of sandbox ${id} on this host (a remote engine?): soft memory limits need a local cgroup v2 filesystem`,
        );
      }
      await this.memoryCgroups.writeHigh(dir, soft).catch((error: unknown) => {
        throw new BurrowError('INTERNAL', `could not set memory.high of sandbox ${id}`, undefined, {
          cause: error,
        });
      });
      return;
    }
    // cgroup v1: the engine's MemoryReservation is the soft limit; -1 lifts it (0 would mean "unchanged").
    try {
      await this.docker.getContainer(inspect.Id).update({ MemoryReservation: soft === 0 ? -1 : soft });
    } catch (error) {
      // runsc has no update command: the soft limit goes straight into the container's cgroup, which holds it.
      const dir = await this.memoryCgroups.memoryDir(inspect.Id, inspect.State.Pid);
      if (
        dir !== undefined &&
        (await this.memoryCgroups.writeSoftLimit(dir, soft).then(
          () => true,
          () => false,
        ))
      )
        return;
      throw fromDockerError(
        error,
        `updating the soft memory limit of sandbox ${id}`,
        'SANDBOX_NOT_FOUND',
        'sandbox not found',
      );
    }
  }

  async memory(id: string): Promise<SandboxMemory> {
    const inspect = await this.inspect(id);
    const dir = await this.memoryCgroups.memoryDir(inspect.Id, inspect.State.Pid);
    if (dir !== undefined) return this.memoryCgroups.read(dir);
    // No cgroup filesystem here (remote engine): the engine's figures, without stall signals.
    const reservation = inspect.HostConfig.MemoryReservation ?? 0;
    const stats = await this.stats(id);
    return { usage: stats.memoryUsage, softLimit: reservation > 0 ? reservation : 0 };
  }

  events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    return dockerEvents(this.docker, this.instance, signal, this.logger);
  }

  /** Removes managed networks that no sandbox uses any more. */
  async pruneNetworks(): Promise<void> {
    await this.networks.prune();
  }
}
