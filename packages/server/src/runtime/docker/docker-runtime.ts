/**
 * The Runtime on a Docker engine, through the Engine API (dockerode). Each sandbox is one container. With the
 * agent, it runs Burrow's agent as its entrypoint and exec and file calls reach the agent over a unix socket (the
 * fast path) or through `docker exec`; without it (transport `engine`, see transport.ts), they are `docker exec`s
 * of the image's own shell and tools (engine-path/).
 */
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import Dockerode from 'dockerode';
import { BurrowError, isBurrowError } from '@burrow/protocol';
import { AgentClient, type AgentChannel } from '../agent/agent-client.js';
import { builtAgentBinary } from '../agent/agent-binary.js';
import { openSocketChannel } from '../agent/socket-channel.js';
import { checkExecOptions, collectExec, envList, execStreamFrom } from '../exec-support.js';
import { sandboxPathBytes } from '../paths.js';
import type {
  CreateOptions,
  ExecOptions,
  ExecResult,
  ExecStream,
  FileData,
  FileInfo,
  FileRead,
  RestoreOptions,
  Runtime,
  RuntimeEvent,
  SandboxConfig,
  SandboxInfo,
  SandboxLimits,
  SandboxPath,
  SandboxStats,
  SnapshotInfo,
  TmpfsMount,
  WriteFileOptions,
} from '../runtime.js';
import { DEFAULT_TMPFS } from '../../storage/tmpfs.js';
import { silentLogger, type Logger } from '../../logger.js';
import { AGENT_SOCKET, containerSpec, type ImageDefaults } from './create-spec.js';
import { dockerMessage, dockerStatus, fromDockerError } from './docker-errors.js';
import { dockerEvents } from './events.js';
import { openExecChannel } from './exec-channel.js';
import { ensureImage } from './images.js';
import { containerName, instanceFilter, LABEL, MANAGED_FILTER } from './labels.js';
import { EngineClient, type ExecTarget } from './engine-path/engine-client.js';
import { ManagedNetworks } from './networks.js';
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
  defaultTmpfs?: readonly TmpfsMount[];
  /** Names this installation on the resources it creates; list, events and snapshots see only its own. */
  instance?: string;
  logger?: Logger;
}

const AGENT_READY_TIMEOUT_MS = 15_000;

export class DockerRuntime implements Runtime {
  /** The Engine API path's client when the transport is `engine`. */
  private readonly engine: EngineClient | undefined;
  private readonly docker: Dockerode;
  private readonly networks: ManagedNetworks;
  private readonly defaultTmpfs: readonly TmpfsMount[];
  private readonly logger: Logger;
  private readonly users = new Map<string, string>();
  private readonly instance: string;
  private readonly snapshots: DockerSnapshots;
  private diskQuotaSupport: Promise<boolean> | undefined;

  private constructor(
    private readonly options: DockerRuntimeOptions,
    private readonly agentBinary: string,
    readonly transport: AgentTransport,
  ) {
    this.docker = options.docker ?? new Dockerode();
    this.engine = transport === 'engine' ? new EngineClient(this.docker) : undefined;
    this.networks = new ManagedNetworks(this.docker, options.networkPrefix ?? 'burrow');
    this.defaultTmpfs = options.defaultTmpfs ?? DEFAULT_TMPFS;
    this.logger = options.logger ?? silentLogger;
    this.instance = options.instance ?? 'default';
    this.snapshots = new DockerSnapshots({
      docker: this.docker,
      instance: this.instance,
      dir: join(options.stateDir, 'snapshots'),
      archiver: (id) =>
        this.engine === undefined ? this.agent(id) : this.engine.archiver(this.rootTarget(id)),
      archiveFormat: this.engine === undefined ? 'agent' : 'tar',
      create: (id, config, defaults) => this.createContainer(id, config, defaults),
      start: (id) => this.start(id),
      remove: (id) => this.remove(id),
      inspect: (id) => this.inspect(id),
    });
  }

  /**
   * Prepares the state directory and a private copy of the agent binary (so rebuilding never breaks sandboxes);
   * without the binary, or with a remote engine, the Engine API path is used (logged with the reason).
   */
  static async open(options: DockerRuntimeOptions): Promise<DockerRuntime> {
    const candidate = options.agentBinary ?? builtAgentBinary();
    const source = candidate !== undefined && existsSync(candidate) ? candidate : undefined;
    const { transport, reason } = chooseTransport(options.transport, source, process.env.DOCKER_HOST);
    await mkdir(join(options.stateDir, 'sandboxes'), { recursive: true, mode: 0o700 });
    const binary = join(options.stateDir, 'bin', 'burrow-agent');
    if (transport === 'engine' || source === undefined) {
      (options.logger ?? silentLogger).info(
        { transport, reason },
        "the Engine API path is active: exec and files run through docker exec of the image's own shell and tools, without the burrow-agent",
      );
      return new DockerRuntime(options, binary, 'engine');
    }
    await mkdir(join(options.stateDir, 'bin'), { recursive: true, mode: 0o755 });
    const staging = `${binary}.${process.pid}.tmp`;
    await copyFile(source, staging);
    await chmod(staging, 0o755);
    await rename(staging, binary);
    return new DockerRuntime(options, binary, transport);
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw fromDockerError(error, 'pinging the Docker engine');
    }
  }

  // ---------------------------------------------------------------- lifecycle

  private runDir(id: string): string {
    return join(this.options.stateDir, 'sandboxes', id);
  }

  private hostSocket(id: string): string {
    return join(this.runDir(id), AGENT_SOCKET.split('/').pop() ?? 'agent.sock');
  }

  async create(id: string, config: SandboxConfig, options: CreateOptions = {}): Promise<void> {
    const defaults = await ensureImage(this.docker, config.image, options.onProgress);
    await this.createContainer(id, config, defaults, options.pool);
  }

  private async createContainer(
    id: string,
    config: SandboxConfig,
    imageDefaults: ImageDefaults,
    pool?: string,
  ): Promise<void> {
    if (config.diskLimit !== undefined && config.diskLimit > 0 && !(await this.supportsDiskQuota())) {
      throw new BurrowError(
        'POLICY_VIOLATION',
        'disk_limit cannot be enforced on this host: Docker needs the overlay2 driver on xfs with project quotas; omit disk_limit',
      );
    }
    const mode = config.networkMode ?? 'internal';
    const networkName = mode === 'none' ? '' : (config.networkId ?? this.networks.nameFor(mode));
    const runDir = this.runDir(id);
    const spec = containerSpec(id, config, {
      imageDefaults,
      ...(this.engine === undefined ? { agent: { binaryPath: this.agentBinary, runDir } } : {}),
      networkName,
      defaultTmpfs: this.defaultTmpfs,
      createdAt: new Date(),
      instance: this.instance,
      ...(pool === undefined ? {} : { pool }),
    });
    if (mode !== 'none') await this.networks.ensure(networkName, mode);
    await rm(runDir, { recursive: true, force: true });
    await mkdir(runDir, { recursive: true, mode: 0o700 });
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
      await rm(runDir, { recursive: true, force: true });
      if (dockerStatus(error) === 409) {
        throw new BurrowError('ALREADY_EXISTS', `a sandbox with id ${id} already exists`, undefined, {
          cause: error,
        });
      }
      if (dockerStatus(error) === 404) {
        throw new BurrowError(
          'IMAGE_NOT_FOUND',
          `image "${config.image}" was removed while the sandbox was being created`,
        );
      }
      throw fromDockerError(error, `creating sandbox ${id}`);
    }
    if (this.engine !== undefined) {
      await this.engine.checkShell(containerName(id), config.image).catch(async (error: unknown) => {
        await this.remove(id);
        throw error;
      });
    }
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
    if (this.transport === 'socket') await this.waitForAgent(id);
    else if (this.engine !== undefined) await this.checkStarted(id);
  }

  /** No agent to wait for on the Engine API path; a main process that exits at once is still reported. */
  private async checkStarted(id: string): Promise<void> {
    const info = await this.info(id);
    if (info.status !== 'running' && info.status !== 'creating') {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox ${id} stopped right after starting (exit code ${info.exitCode ?? 'unknown'}): check its command and image`,
      );
    }
  }

  /** Waits until the agent accepts connections; fails early when the sandbox's main process exits instead. */
  private async waitForAgent(id: string): Promise<void> {
    const deadline = Date.now() + AGENT_READY_TIMEOUT_MS;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await new AgentClient(() => openSocketChannel(this.hostSocket(id))).ping();
        return;
      } catch {
        // Not listening yet.
      }
      if (attempt % 20 === 19) {
        const info = await this.info(id);
        if (info.status !== 'running') {
          throw new BurrowError(
            'SANDBOX_NOT_RUNNING',
            `sandbox ${id} stopped right after starting (exit code ${info.exitCode ?? 'unknown'}): check its command and image`,
          );
        }
      }
      if (Date.now() > deadline)
        throw new BurrowError('INTERNAL', `the agent in sandbox ${id} did not start within 15 s`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(2 + attempt, 25)));
    }
  }

  async stop(id: string, timeoutMs = 10_000): Promise<void> {
    try {
      await this.docker.getContainer(containerName(id)).stop({ t: Math.max(0, Math.ceil(timeoutMs / 1000)) });
    } catch (error) {
      if (dockerStatus(error) === 304) return;
      throw fromDockerError(error, `stopping sandbox ${id}`, 'SANDBOX_NOT_FOUND', 'sandbox not found');
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(containerName(id)).remove({ force: true, v: true });
    } catch (error) {
      const status = dockerStatus(error);
      // 404: already gone. 409: removal already in progress elsewhere.
      if (status !== 404 && status !== 409) throw fromDockerError(error, `removing sandbox ${id}`);
    }
    this.users.delete(id);
    await rm(this.runDir(id), { recursive: true, force: true });
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
    return infoFromInspect(await this.inspect(id));
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
          return infoFromInspect(await this.docker.getContainer(container.Id).inspect());
        } catch (error) {
          if (dockerStatus(error) === 404) return undefined; // removed meanwhile
          throw fromDockerError(error, 'listing sandboxes');
        }
      }),
    );
    return infos.filter((info): info is SandboxInfo => info !== undefined);
  }

  // ---------------------------------------------------------------- the agent

  /** Why a sandbox's agent cannot be reached: missing, stopped, or (if neither) an internal failure. */
  private async unreachable(id: string, cause: unknown): Promise<BurrowError> {
    if (isBurrowError(cause) && cause.code !== 'INTERNAL') return cause;
    const info = await this.info(id);
    if (info.status !== 'running') {
      return new BurrowError('SANDBOX_NOT_RUNNING', `sandbox ${id} is ${info.status}: start it first`);
    }
    return new BurrowError('INTERNAL', `cannot reach the agent in sandbox ${id}`, undefined, { cause });
  }

  private async openChannel(id: string): Promise<AgentChannel> {
    try {
      if (this.transport === 'socket') return await openSocketChannel(this.hostSocket(id));
      return await openExecChannel(this.docker, containerName(id), '0');
    } catch (error) {
      if (dockerStatus(error) === 404) throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
      throw await this.unreachable(id, error);
    }
  }

  private agent(id: string): AgentClient {
    return new AgentClient(() => this.openChannel(id));
  }

  /** Where the Engine API path runs a sandbox's processes: the image's user, as the agent paths do. */
  private async target(id: string): Promise<ExecTarget> {
    return { container: containerName(id), sandbox: id, user: await this.userFor(id) };
  }

  private rootTarget(id: string): ExecTarget {
    return { container: containerName(id), sandbox: id, user: '0' };
  }

  /** The request user: the agent's default on the socket path; the image's user, explicitly, through docker exec. */
  private async userFor(id: string): Promise<string> {
    if (this.transport === 'socket') return '';
    let user = this.users.get(id);
    if (user === undefined) {
      user = (await this.inspect(id)).Config.Labels?.[LABEL.user] ?? '';
      this.users.set(id, user);
    }
    return user === '' ? '0' : user;
  }

  // ---------------------------------------------------------------- exec

  async execStream(id: string, options: ExecOptions): Promise<ExecStream> {
    checkExecOptions(options);
    options.signal?.throwIfAborted();
    if (this.engine !== undefined)
      return execStreamFrom(await this.engine.exec(await this.target(id), options), options);
    const agentProcess = await this.agent(id).exec({
      cmd: options.cmd,
      env: envList(options.env),
      workdir: options.workdir ?? '',
      user: await this.userFor(id),
      timeoutMs: Math.ceil(options.timeoutMs ?? 0),
      withStdin: options.stdin !== undefined || options.openStdin === true,
    });
    return execStreamFrom(
      {
        events: agentProcess.events,
        stdin: {
          write: (data) => agentProcess.writeStdin(typeof data === 'string' ? Buffer.from(data) : data),
          end: () => agentProcess.endStdin(),
        },
        kill: (signal) => agentProcess.signal(signal),
        destroy: () => agentProcess.destroy(),
      },
      options,
    );
  }

  async exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return collectExec(await this.execStream(id, options));
  }

  // ---------------------------------------------------------------- files

  async readFile(id: string, path: SandboxPath): Promise<FileRead> {
    const bytes = sandboxPathBytes(path);
    if (this.engine !== undefined) return this.engine.files.readFile(await this.target(id), bytes);
    return this.agent(id).readFile(await this.userFor(id), bytes);
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
    if (this.engine !== undefined) {
      return this.engine.files.writeFile(await this.target(id), bytes, options.mode ?? 0o644, data);
    }
    return this.agent(id).writeFile(await this.userFor(id), bytes, options.mode ?? 0o644, data);
  }

  async listDir(id: string, path: SandboxPath): Promise<FileInfo[]> {
    if (this.engine !== undefined)
      return this.engine.files.listDir(await this.target(id), sandboxPathBytes(path));
    return this.agent(id).list(await this.userFor(id), sandboxPathBytes(path));
  }

  async stat(id: string, path: SandboxPath): Promise<FileInfo> {
    if (this.engine !== undefined)
      return this.engine.files.stat(await this.target(id), sandboxPathBytes(path));
    return this.agent(id).stat(await this.userFor(id), sandboxPathBytes(path));
  }

  async mkdir(id: string, path: SandboxPath): Promise<void> {
    if (this.engine !== undefined)
      return this.engine.files.mkdir(await this.target(id), sandboxPathBytes(path));
    await this.agent(id).mkdir(await this.userFor(id), sandboxPathBytes(path));
  }

  async removeFile(id: string, path: SandboxPath): Promise<void> {
    const bytes = sandboxPathBytes(path);
    if (bytes.length === 1) throw new BurrowError('INVALID_PATH', 'refusing to remove /');
    if (this.engine !== undefined) return this.engine.files.remove(await this.target(id), bytes);
    await this.agent(id).remove(await this.userFor(id), bytes);
  }

  // ---------------------------------------------------------------- snapshots

  snapshot(id: string, name: string): Promise<SnapshotInfo> {
    return this.snapshots.create(id, name);
  }

  restore(snapshotId: string, options: RestoreOptions = {}): Promise<string> {
    return this.snapshots.restore(snapshotId, options);
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
    if (bytes > 0 && bytes < 6 * 1024 * 1024) {
      throw new BurrowError('VALIDATION_FAILED', 'memory limit must be at least 6 MiB (Docker refuses less)');
    }
    await this.inspect(id);
    // Lifting a limit: the engine (API 1.41) rejects -1 on update, so the limit becomes the host's memory, which
    // is what an unlimited container gets anyway. Swap is kept equal to memory (no swap).
    const limit = bytes === 0 ? totalmem() : bytes;
    try {
      await this.docker.getContainer(containerName(id)).update({ Memory: limit, MemorySwap: limit });
    } catch (error) {
      throw fromDockerError(
        error,
        `updating the memory limit of sandbox ${id}`,
        'SANDBOX_NOT_FOUND',
        'sandbox not found',
      );
    }
  }

  async updateLimits(id: string, limits: SandboxLimits): Promise<void> {
    const update: { NanoCpus?: number; Memory?: number; MemorySwap?: number; PidsLimit?: number } = {};
    for (const [key, value] of Object.entries(limits)) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw new BurrowError(
          'VALIDATION_FAILED',
          `${key} must be a whole non-negative number, 0 to remove the limit`,
        );
      }
    }
    // On update, 0 means "unchanged" to the engine and -1 is refused for memory: a lifted CPU or memory limit
    // becomes the whole host, which is what an unlimited container gets anyway. -1 lifts the process limit.
    if (limits.cpu !== undefined) update.NanoCpus = limits.cpu === 0 ? cpus().length * 1e9 : limits.cpu;
    if (limits.memory !== undefined) {
      if (limits.memory > 0 && limits.memory < 6 * 1024 * 1024) {
        throw new BurrowError(
          'VALIDATION_FAILED',
          'memory limit must be at least 6 MiB (Docker refuses less)',
        );
      }
      // Swap is kept equal to memory (no swap).
      update.Memory = limits.memory === 0 ? totalmem() : limits.memory;
      update.MemorySwap = update.Memory;
    }
    if (limits.pidLimit !== undefined) update.PidsLimit = limits.pidLimit === 0 ? -1 : limits.pidLimit;
    if (Object.keys(update).length === 0) return;
    await this.inspect(id);
    try {
      await this.docker.getContainer(containerName(id)).update(update);
    } catch (error) {
      throw fromDockerError(
        error,
        `updating the limits of sandbox ${id}`,
        'SANDBOX_NOT_FOUND',
        'sandbox not found',
      );
    }
  }

  events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    return dockerEvents(this.docker, this.instance, signal, this.logger);
  }

  /** Removes managed networks that no sandbox uses any more. */
  async pruneNetworks(): Promise<void> {
    await this.networks.prune();
  }
}
