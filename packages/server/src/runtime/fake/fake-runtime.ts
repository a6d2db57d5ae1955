/**
 * An in-memory Runtime: a unit-test double for the engine. It keeps the Runtime contract (the shared contract
 * suite runs against it and against Docker) with a tiny filesystem and the command set of fake-commands.ts.
 */
import { EventEmitter, on } from 'node:events';
import { Readable } from 'node:stream';
import { BurrowError } from '@burrow/protocol';
import { newSandboxId, newSnapshotId } from '../../ids.js';
import { mergeTmpfs, DEFAULT_TMPFS, tmpfsBytes } from '../../storage/tmpfs.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { checkCallerLabels, publicConfig } from '../sandbox-config.js';
import { checkExecOptions, collectExec, execStreamFrom, inputChunks } from '../exec-support.js';
import { capListing, listLimit } from '../listing.js';
import { sandboxPathBytes } from '../paths.js';
import {
  type AttachOptions,
  type ConnectOptions,
  type DirListing,
  type IsolationSupport,
  type ListOptions,
  type ProcessAttachment,
  type ProcessInfo,
  type ProcessInputOptions,
  type ProcessStartOptions,
  type PtySize,
  type WatchOptions,
  type WatchStream,
  TIMEOUT_EXIT_CODE,
  type ExecEvent,
  type ExecOptions,
  type ExecResult,
  type ExecStream,
  type FileData,
  type FileInfo,
  type FileRead,
  type CreateOptions,
  type ForkOptions,
  type RestoreOptions,
  type SnapshotOptions,
  type Runtime,
  type RuntimeEvent,
  type SandboxConfig,
  type SandboxInfo,
  type SandboxLimits,
  type SandboxMemory,
  type SandboxPath,
  type SandboxStats,
  type SnapshotInfo,
  type TmpfsMount,
  type WriteFileOptions,
} from '../runtime.js';
import { runCommand } from './fake-commands.js';
import { copyNodes, FakeFs, keyOf, type FsMount, type FsNode } from './fake-fs.js';
import { checkIsolation } from '../isolation-check.js';
import { FakeProcesses } from './fake-processes.js';
import { FakeWatchers } from './fake-watch.js';
import { FakePorts } from './fake-ports.js';
import { checkConnectHost, checkPort } from '../ports.js';
import type { Duplex } from 'node:stream';

interface FakeSandbox {
  id: string;
  config: SandboxConfig;
  createdAt: Date;
  running: boolean;
  exitCode?: number;
  oomKilled?: boolean;
  fs: FakeFs;
  /** Limits in force now: updates change these, never `config` (which stays what the sandbox was created with). */
  limits: SandboxLimits;
  user: FakeUser;
  ip: string;
  /** Command lines of the processes running now. */
  processes: Set<string[]>;
  /** Warm-pool key of an idle pool member. */
  pool?: string;
  /** Frozen by `pause`. */
  paused?: boolean;
  /** Soft memory limit (`updateMemorySoftLimit`), 0 when none. */
  softLimit?: number;
}

interface FakeSnapshot {
  info: SnapshotInfo;
  files: Map<string, FsNode>;
}

export interface FakeUser {
  uid: number;
  name: string;
}

/** An image whose user is `sandbox` (uid 1000), like the test images built with `USER sandbox`. */
export const FAKE_USER_IMAGE = 'fake/user-image';

const MIN_MEMORY = 6 * 1024 * 1024;

function checkMemory(bytes: number | undefined): void {
  if (bytes !== undefined && bytes > 0 && bytes < MIN_MEMORY)
    throw new BurrowError('VALIDATION_FAILED', 'memory limit must be at least 6 MiB (Docker refuses less)');
}

export interface FakeRuntimeOptions {
  defaultTmpfs?: readonly TmpfsMount[];
  /** Images that exist; any other image is IMAGE_NOT_FOUND. */
  images?: readonly string[];
  /** The user of each image whose user is not root; by default {@link FAKE_USER_IMAGE} runs as `sandbox`. */
  users?: Record<string, FakeUser>;
}

export class FakeRuntime implements Runtime {
  private readonly sandboxes = new Map<string, FakeSandbox>();
  private readonly snapshots = new Map<string, FakeSnapshot>();
  private readonly emitter = new EventEmitter();
  private readonly defaultTmpfs: readonly TmpfsMount[];
  private readonly images: Set<string> | undefined;
  private readonly users: Record<string, FakeUser>;
  private addresses = 0;
  private readonly processes = new FakeProcesses((id, options) => this.execStream(id, options));
  private readonly watchers = new FakeWatchers();
  /** TCP servers "inside" the sandboxes: tests serve ports here (see fake-ports.ts). */
  readonly ports = new FakePorts();

  constructor(options: FakeRuntimeOptions = {}) {
    this.defaultTmpfs = options.defaultTmpfs ?? DEFAULT_TMPFS;
    this.images = options.images === undefined ? undefined : new Set(options.images);
    this.users = options.users ?? { [FAKE_USER_IMAGE]: { uid: 1000, name: 'sandbox' } };
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  /** Like a host with runsc registered for every mode (tests can narrow it). */
  isolationSupport: IsolationSupport[] = [
    { runtime: 'runc', networkModes: ['none', 'internal', 'bridge'] },
    { runtime: 'gvisor', networkModes: ['none', 'internal', 'bridge'] },
  ];

  isolations(): Promise<IsolationSupport[]> {
    return Promise.resolve(
      this.isolationSupport.map((entry) => ({ ...entry, networkModes: [...entry.networkModes] })),
    );
  }

  private get(id: string): FakeSandbox {
    const sandbox = this.sandboxes.get(id);
    if (sandbox === undefined) throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
    return sandbox;
  }

  private running(id: string): FakeSandbox {
    const sandbox = this.get(id);
    if (!sandbox.running)
      throw new BurrowError('SANDBOX_NOT_RUNNING', `sandbox ${id} is stopped: start it first`);
    if (sandbox.paused === true)
      throw new BurrowError('SANDBOX_NOT_RUNNING', `sandbox ${id} is paused: resume it first`);
    return sandbox;
  }

  private emit(event: RuntimeEvent): void {
    this.emitter.emit('event', event);
  }

  /** Calls to `create`, so tests can tell a warm-pool hit from a cold create. */
  createCount = 0;

  create(id: string, config: SandboxConfig, options: CreateOptions = {}): Promise<void> {
    this.createCount += 1;
    return this.createWith(id, config, new Map(), options.pool);
  }

  private async createWith(
    id: string,
    config: SandboxConfig,
    files: Map<string, FsNode>,
    pool?: string,
    fromSnapshot = false,
  ): Promise<void> {
    await Promise.resolve();
    checkCallerLabels(config.labels);
    checkIsolation(config.runtime ?? 'runc', config.networkMode ?? 'internal', this.isolationSupport);
    if (!fromSnapshot && this.images !== undefined && !this.images.has(config.image)) {
      throw new BurrowError('IMAGE_NOT_FOUND', `image "${config.image}" is not available`);
    }
    if (this.sandboxes.has(id))
      throw new BurrowError('ALREADY_EXISTS', `a sandbox with id ${id} already exists`);
    checkMemory(config.memory);
    const mounts: FsMount[] = [
      ...mergeTmpfs(this.defaultTmpfs, config.storage?.tmpfs).map((mount) => ({
        root: mount.path,
        bytes: tmpfsBytes(mount),
        readOnly: (mount.options ?? '').split(',').includes('ro'),
        tmpfs: true,
      })),
      ...(config.storage?.volumes ?? []).map((volume) => ({
        root: volume.mountPath,
        readOnly: volume.readOnly,
        tmpfs: false,
      })),
    ];
    const user = this.users[config.image] ?? { uid: 0, name: 'root' };
    const sandbox: FakeSandbox = {
      id,
      config: publicConfig(config),
      createdAt: new Date(),
      running: false,
      fs: new FakeFs(files, {
        uid: user.uid,
        mounts,
        writableRootfs: config.writableRootfs === true,
        onChange: (kind, key, isDir) => this.watchers.notify(id, kind, key, isDir),
      }),
      limits: { cpu: config.cpu ?? 0, memory: config.memory ?? 0, pidLimit: config.pidLimit ?? 0 },
      user,
      // Docker gives a sandbox on a network an address on it; without one (`none`), none.
      ip: config.networkMode === 'none' ? '' : this.nextAddress(),
      processes: new Set(),
    };
    if (pool !== undefined) sandbox.pool = pool;
    this.sandboxes.set(id, sandbox);
  }

  private nextAddress(): string {
    this.addresses += 1;
    return `172.31.${Math.floor(this.addresses / 250) % 250}.${(this.addresses % 250) + 2}`;
  }

  async start(id: string): Promise<void> {
    await Promise.resolve();
    const sandbox = this.get(id);
    if (sandbox.running) return;
    sandbox.running = true;
    delete sandbox.exitCode;
    delete sandbox.oomKilled;
    this.emit({ type: 'started', id });
  }

  async stop(id: string): Promise<void> {
    await Promise.resolve();
    const sandbox = this.get(id);
    if (!sandbox.running) return;
    sandbox.running = false;
    delete sandbox.paused;
    // Docker stops with SIGTERM: a command (`sleep`) dies of it (143); without one the agent that keeps the
    // sandbox alive ends cleanly (0).
    const exitCode = sandbox.config.cmd === undefined ? 0 : 143;
    sandbox.exitCode = exitCode;
    this.processes.forget(id);
    this.watchers.end(id);
    // Like tmpfs in a real container, the mounts come back empty.
    sandbox.fs.clearTmpfs();
    this.emit({ type: 'died', id, exitCode, oomKilled: false });
  }

  async remove(id: string): Promise<void> {
    await Promise.resolve();
    this.processes.forget(id);
    this.watchers.end(id);
    this.ports.close(id);
    if (this.sandboxes.delete(id)) this.emit({ type: 'removed', id });
  }

  /** Command lines of the processes running in a sandbox now (what `ps` would list besides the main process). */
  processList(id: string): string[][] {
    return [...this.get(id).processes].map((argv) => [...argv]);
  }

  async pause(id: string): Promise<void> {
    await Promise.resolve();
    const sandbox = this.get(id);
    if (!sandbox.running) {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox ${id} is not running: only a running sandbox can be paused`,
      );
    }
    if (sandbox.paused === true) return;
    sandbox.paused = true;
    this.emit({ type: 'paused', id });
  }

  async resume(id: string): Promise<void> {
    await Promise.resolve();
    const sandbox = this.get(id);
    if (!sandbox.running) {
      throw new BurrowError(
        'SANDBOX_NOT_RUNNING',
        `sandbox ${id} is not paused but stopped: start it instead`,
      );
    }
    if (sandbox.paused !== true) return;
    delete sandbox.paused;
    this.emit({ type: 'resumed', id });
  }

  /** The limits in force in a sandbox (what Docker's inspect shows in HostConfig; info's config keeps the create's). */
  limitsOf(id: string): SandboxLimits {
    return { ...this.get(id).limits };
  }

  /** Simulates the sandbox's main process dying on its own (crash, OOM kill). */
  simulateDeath(id: string, exitCode: number, oomKilled = false): void {
    const sandbox = this.get(id);
    sandbox.running = false;
    sandbox.exitCode = exitCode;
    if (oomKilled) sandbox.oomKilled = true;
    this.processes.forget(id);
    this.watchers.end(id);
    this.emit({ type: 'died', id, exitCode, oomKilled });
  }

  private infoOf(sandbox: FakeSandbox): SandboxInfo {
    const info: SandboxInfo = {
      id: sandbox.id,
      name: `burrow-${sandbox.id}`,
      image: sandbox.config.image,
      status: sandbox.running ? (sandbox.paused === true ? 'paused' : 'running') : 'stopped',
      createdAt: sandbox.createdAt,
      ports: sandbox.config.ports ?? [],
      labels: sandbox.config.labels ?? {},
      pid: sandbox.running ? 1 : 0,
      ip: sandbox.running ? sandbox.ip : '',
      config: sandbox.config,
    };
    if (sandbox.exitCode !== undefined) info.exitCode = sandbox.exitCode;
    if (sandbox.oomKilled === true) info.oomKilled = true;
    if (sandbox.pool !== undefined) info.pool = sandbox.pool;
    return info;
  }

  async info(id: string): Promise<SandboxInfo> {
    await Promise.resolve();
    return this.infoOf(this.get(id));
  }

  async list(): Promise<SandboxInfo[]> {
    await Promise.resolve();
    return [...this.sandboxes.values()].map((sandbox) => this.infoOf(sandbox));
  }

  // ---------------------------------------------------------------- exec

  async execStream(id: string, options: ExecOptions): Promise<ExecStream> {
    await Promise.resolve();
    checkExecOptions(options);
    options.signal?.throwIfAborted();
    const sandbox = this.running(id);
    const events = new AsyncQueue<ExecEvent>();
    const stdinChunks: Buffer[] = [];
    let stdinEnded = options.stdin === undefined && options.openStdin !== true;
    let stdinWaiter: (() => void) | undefined;
    const killer = new AbortController();
    let killedBy: number | undefined;

    const sleep = (ms: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        killer.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(killer.signal.reason);
        });
      });
    const timer =
      options.timeoutMs !== undefined && options.timeoutMs > 0
        ? setTimeout(() => killer.abort('timeout'), options.timeoutMs)
        : undefined;
    const argv = [...options.cmd];
    sandbox.processes.add(argv);
    void runCommand(options.cmd, {
      env: { ...sandbox.config.env, ...options.env },
      workdir: options.workdir ?? sandbox.config.workdir ?? '/',
      stdin: async () => {
        // A process blocked reading stdin dies of a kill like any other.
        while (!stdinEnded) {
          killer.signal.throwIfAborted();
          await new Promise<void>((resolve) => {
            stdinWaiter = resolve;
            killer.signal.addEventListener('abort', () => resolve(), { once: true });
          });
        }
        return Buffer.concat(stdinChunks);
      },
      user: sandbox.user,
      readFile: (path) => sandbox.fs.readForCommand(keyOf(Buffer.from(path))),
      symlink: (target, path) => sandbox.fs.symlink(keyOf(Buffer.from(target)), keyOf(Buffer.from(path))),
      stdout: (data) => events.push({ type: 'stdout', data }),
      // On a terminal both streams are the terminal.
      stderr: (data) => events.push({ type: options.pty === undefined ? 'stderr' : 'stdout', data }),
      sleep,
    })
      .then((exitCode) => events.push({ type: 'exit', exitCode, timedOut: false }))
      .catch(() => {
        const timedOut = killer.signal.reason === 'timeout';
        events.push({
          type: 'exit',
          exitCode: timedOut ? TIMEOUT_EXIT_CODE : 128 + (killedBy ?? 9),
          timedOut,
        });
      })
      .finally(() => {
        clearTimeout(timer);
        sandbox.processes.delete(argv);
        events.end();
      });

    const wake = () => {
      stdinWaiter?.();
      stdinWaiter = undefined;
    };
    killer.signal.addEventListener('abort', wake, { once: true });
    return execStreamFrom(
      {
        events,
        stdin: {
          write: (data) => {
            stdinChunks.push(Buffer.from(data));
            return Promise.resolve();
          },
          end: () => {
            stdinEnded = true;
            wake();
            return Promise.resolve();
          },
        },
        kill: (signal) => {
          killedBy = signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : 15;
          killer.abort('signal');
          return Promise.resolve();
        },
        destroy: () => killer.abort('destroyed'),
        ...(options.pty === undefined ? {} : { resize: () => Promise.resolve() }),
      },
      options,
    );
  }

  async exec(id: string, options: ExecOptions): Promise<ExecResult> {
    return collectExec(await this.execStream(id, options), options);
  }

  // ---------------------------------------------------------------- files

  async readFile(id: string, path: SandboxPath): Promise<FileRead> {
    await Promise.resolve();
    const { info, data } = this.running(id).fs.readFile(keyOf(sandboxPathBytes(path)));
    return { info, sizeExact: info.size > 0, body: Readable.from([data]) };
  }

  async writeFile(
    id: string,
    path: SandboxPath,
    data: FileData,
    options: WriteFileOptions = {},
  ): Promise<{ bytes: number }> {
    options.signal?.throwIfAborted();
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    const resolved = sandbox.fs.prepareWrite(key);
    // Nothing of a write that fails or is aborted midway is kept.
    const chunks: Buffer[] = [];
    for await (const chunk of inputChunks(data)) {
      options.signal?.throwIfAborted();
      chunks.push(Buffer.from(chunk));
    }
    const content = Buffer.concat(chunks);
    sandbox.fs.commitWrite(resolved, key, content, options.mode ?? 0o644);
    return { bytes: content.length };
  }

  async listDir(id: string, path: SandboxPath, options: ListOptions = {}): Promise<DirListing> {
    await Promise.resolve();
    const max = listLimit(options);
    return capListing(this.running(id).fs.list(keyOf(sandboxPathBytes(path))), max);
  }

  async stat(id: string, path: SandboxPath): Promise<FileInfo> {
    await Promise.resolve();
    return this.running(id).fs.stat(keyOf(sandboxPathBytes(path)));
  }

  async mkdir(id: string, path: SandboxPath): Promise<void> {
    await Promise.resolve();
    this.running(id).fs.mkdir(keyOf(sandboxPathBytes(path)));
  }

  async removeFile(id: string, path: SandboxPath): Promise<void> {
    await Promise.resolve();
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    if (key === '/') throw new BurrowError('INVALID_PATH', 'refusing to remove /');
    sandbox.fs.remove(key);
  }

  // ---------------------------------------------------------------- processes and watches

  async startProcess(id: string, options: ProcessStartOptions): Promise<ProcessInfo> {
    await Promise.resolve();
    this.running(id);
    return this.processes.start(id, options);
  }

  async listProcesses(id: string): Promise<ProcessInfo[]> {
    await Promise.resolve();
    this.running(id);
    return this.processes.list(id);
  }

  async getProcess(id: string, processId: string): Promise<ProcessInfo> {
    await Promise.resolve();
    this.running(id);
    return this.processes.get(id, processId);
  }

  async attachProcess(id: string, processId: string, options?: AttachOptions): Promise<ProcessAttachment> {
    await Promise.resolve();
    this.running(id);
    return this.processes.attach(id, processId, options);
  }

  async waitProcess(
    id: string,
    processId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ProcessInfo> {
    this.running(id);
    return this.processes.wait(id, processId, timeoutMs, signal);
  }

  async sendProcessInput(
    id: string,
    processId: string,
    data: Uint8Array,
    options?: ProcessInputOptions,
  ): Promise<void> {
    this.running(id);
    await this.processes.input(id, processId, data, options);
  }

  async signalProcess(id: string, processId: string, signal: string): Promise<void> {
    this.running(id);
    await this.processes.signal(id, processId, signal);
  }

  async killProcess(id: string, processId: string): Promise<void> {
    this.running(id);
    await this.processes.kill(id, processId);
  }

  async resizeProcess(id: string, processId: string, size: PtySize): Promise<void> {
    this.running(id);
    await this.processes.resize(id, processId, size);
  }

  async watch(id: string, path: SandboxPath, options?: WatchOptions): Promise<WatchStream> {
    await Promise.resolve();
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    return this.watchers.watch(id, key, sandbox.fs.kindOf(key) === 'dir', options);
  }

  async connectPort(id: string, port: number, options: ConnectOptions = {}): Promise<Duplex> {
    await Promise.resolve();
    this.running(id);
    checkConnectHost(options.host);
    return this.ports.connect(id, checkPort(port));
  }

  // ---------------------------------------------------------------- snapshots

  async snapshot(id: string, name: string, options: SnapshotOptions = {}): Promise<SnapshotInfo> {
    await Promise.resolve();
    const sandbox = this.get(id);
    const files = sandbox.fs.cloneNodes();
    const size = sandbox.fs.usedBytes();
    const info: SnapshotInfo = {
      id: newSnapshotId(),
      sandboxId: id,
      name,
      imageId: `fake:${id}`,
      createdAt: new Date(),
      size,
      volumes: sandbox.config.storage?.volumes ?? [],
      config: sandbox.config,
    };
    this.snapshots.set(info.id, { info, files });
    options.onProgress?.({ phase: 'commit', bytes: 0, layerBytes: size });
    return info;
  }

  private findSnapshot(snapshotId: string): FakeSnapshot {
    const snapshot = this.snapshots.get(snapshotId);
    if (snapshot === undefined)
      throw new BurrowError('SNAPSHOT_NOT_FOUND', `snapshot not found: ${snapshotId}`);
    return snapshot;
  }

  async restore(snapshotId: string, options: RestoreOptions = {}): Promise<string> {
    const snapshot = this.findSnapshot(snapshotId);
    const id = options.id ?? newSandboxId();
    // As on Docker, the restored sandbox runs (and names) the snapshot's image.
    await this.createWith(
      id,
      { ...snapshot.info.config, image: `burrow-snapshot:${snapshotId}` },
      copyNodes(snapshot.files),
      undefined,
      true,
    );
    await this.start(id);
    return id;
  }

  async fork(id: string, ids: readonly string[], options: ForkOptions = {}): Promise<void> {
    await Promise.resolve();
    const sandbox = this.running(id);
    const made: string[] = [];
    try {
      for (const copy of ids) {
        // Like a container's tmpfs and writable layer: the files are copied, processes are not.
        await this.createWith(copy, options.config ?? sandbox.config, sandbox.fs.cloneNodes());
        made.push(copy);
        await this.start(copy);
      }
    } catch (error) {
      for (const copy of made) await this.remove(copy);
      throw error;
    }
  }

  async listSnapshots(sandboxId?: string): Promise<SnapshotInfo[]> {
    await Promise.resolve();
    return [...this.snapshots.values()]
      .map((snapshot) => snapshot.info)
      .filter((info) => sandboxId === undefined || info.sandboxId === sandboxId);
  }

  async removeSnapshot(snapshotId: string): Promise<void> {
    await Promise.resolve();
    this.findSnapshot(snapshotId);
    this.snapshots.delete(snapshotId);
  }

  // ---------------------------------------------------------------- resources

  async stats(id: string): Promise<SandboxStats> {
    await Promise.resolve();
    const sandbox = this.get(id);
    const memoryUsage = sandbox.fs.usedBytes();
    const memoryLimit = sandbox.limits.memory ?? 0;
    return {
      cpuPercent: 0,
      memoryUsage,
      memoryLimit,
      memoryPercent: memoryLimit > 0 ? (memoryUsage / memoryLimit) * 100 : 0,
      networkRx: 0,
      networkTx: 0,
      diskRead: 0,
      diskWrite: 0,
      pidCount: sandbox.running ? 1 + sandbox.processes.size : 0,
      timestamp: new Date(),
    };
  }

  async updateMemoryLimit(id: string, bytes: number): Promise<void> {
    await Promise.resolve();
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        'memory limit must be a whole number of bytes, 0 to remove it',
      );
    }
    checkMemory(bytes);
    const sandbox = this.get(id);
    sandbox.limits = { ...sandbox.limits, memory: bytes };
  }

  async updateLimits(id: string, limits: SandboxLimits): Promise<void> {
    await Promise.resolve();
    for (const [key, value] of Object.entries(limits)) {
      if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
        throw new BurrowError(
          'VALIDATION_FAILED',
          `${key} must be a whole non-negative number, 0 to remove the limit`,
        );
      }
    }
    checkMemory(limits.memory);
    const sandbox = this.get(id);
    const defined = Object.fromEntries(
      Object.entries(limits).filter(([, value]) => value !== undefined),
    ) as SandboxLimits;
    sandbox.limits = { ...sandbox.limits, ...defined };
  }

  async updateMemorySoftLimit(id: string, bytes: number): Promise<void> {
    await Promise.resolve();
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        'soft memory limit must be a whole number of bytes, 0 to remove it',
      );
    }
    const sandbox = this.get(id);
    const hard = sandbox.limits.memory ?? 0;
    sandbox.softLimit = hard > 0 && bytes > hard ? hard : bytes;
  }

  async memory(id: string): Promise<SandboxMemory> {
    const stats = await this.stats(id);
    return { usage: stats.memoryUsage, softLimit: this.get(id).softLimit ?? 0 };
  }

  async *events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    try {
      for await (const [event] of on(this.emitter, 'event', { signal })) yield event as RuntimeEvent;
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }
}
