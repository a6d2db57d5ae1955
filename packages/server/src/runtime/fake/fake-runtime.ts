/**
 * An in-memory Runtime: a unit-test double for the engine. It keeps the Runtime contract (the shared contract
 * suite runs against it and against Docker) with a tiny filesystem and the command set of fake-commands.ts.
 */
import { EventEmitter, on } from 'node:events';
import { Readable } from 'node:stream';
import { BurrowError } from '@burrow/protocol';
import { newSandboxId, newSnapshotId } from '../../ids.js';
import { mergeTmpfs, DEFAULT_TMPFS } from '../../storage/tmpfs.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { checkCallerLabels, publicConfig } from '../sandbox-config.js';
import { checkExecOptions, collectExec, execStreamFrom, inputChunks } from '../exec-support.js';
import { capListing, listLimit } from '../listing.js';
import { sandboxPathBytes } from '../paths.js';
import { modeString } from '../agent/stat-record.js';
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
import { checkIsolation } from '../isolation-check.js';
import { FakeProcesses } from './fake-processes.js';
import { FakeWatchers } from './fake-watch.js';
import { FakePorts } from './fake-ports.js';
import { checkConnectHost, checkPort } from '../ports.js';
import type { Duplex } from 'node:stream';

type FsNode =
  { kind: 'file'; data: Buffer; mode: number; mtime: Date } | { kind: 'dir'; mode: number; mtime: Date };

interface FakeSandbox {
  id: string;
  config: SandboxConfig;
  createdAt: Date;
  running: boolean;
  exitCode?: number;
  tmpfs: string[];
  files: Map<string, FsNode>;
  processes: number;
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

const KEY_ENCODING = 'latin1';

function keyOf(bytes: Buffer): string {
  return bytes.toString(KEY_ENCODING);
}

function parentOf(key: string): string {
  const index = key.lastIndexOf('/');
  return index <= 0 ? '/' : key.slice(0, index);
}

function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

function display(key: string): string {
  return Buffer.from(key, KEY_ENCODING).toString('utf8');
}

function within(key: string, root: string): boolean {
  return key === root || key.startsWith(root === '/' ? '/' : `${root}/`);
}

function cloneFiles(files: Map<string, FsNode>): Map<string, FsNode> {
  return new Map([...files].map(([key, node]) => [key, { ...node }]));
}

export interface FakeRuntimeOptions {
  defaultTmpfs?: readonly TmpfsMount[];
  /** Images that exist; any other image is IMAGE_NOT_FOUND. */
  images?: readonly string[];
}

export class FakeRuntime implements Runtime {
  private readonly sandboxes = new Map<string, FakeSandbox>();
  private readonly snapshots = new Map<string, FakeSnapshot>();
  private readonly emitter = new EventEmitter();
  private readonly defaultTmpfs: readonly TmpfsMount[];
  private readonly images: Set<string> | undefined;
  private readonly processes = new FakeProcesses((id, options) => this.execStream(id, options));
  private readonly watchers = new FakeWatchers();
  /** TCP servers "inside" the sandboxes: tests serve ports here (see fake-ports.ts). */
  readonly ports = new FakePorts();

  constructor(options: FakeRuntimeOptions = {}) {
    this.defaultTmpfs = options.defaultTmpfs ?? DEFAULT_TMPFS;
    this.images = options.images === undefined ? undefined : new Set(options.images);
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
  ): Promise<void> {
    await Promise.resolve();
    checkCallerLabels(config.labels);
    checkIsolation(config.runtime ?? 'runc', config.networkMode ?? 'internal', this.isolationSupport);
    if (this.images !== undefined && !this.images.has(config.image)) {
      throw new BurrowError('IMAGE_NOT_FOUND', `image "${config.image}" is not available`);
    }
    if (this.sandboxes.has(id))
      throw new BurrowError('ALREADY_EXISTS', `a sandbox with id ${id} already exists`);
    const tmpfs = mergeTmpfs(this.defaultTmpfs, config.storage?.tmpfs).map((mount) => mount.path);
    const now = new Date();
    for (const dir of ['/', '/etc', ...tmpfs])
      files.set(dir, files.get(dir) ?? { kind: 'dir', mode: 0o755, mtime: now });
    const sandbox: FakeSandbox = {
      id,
      config: publicConfig(config),
      createdAt: now,
      running: false,
      tmpfs,
      files,
      processes: 0,
    };
    if (pool !== undefined) sandbox.pool = pool;
    this.sandboxes.set(id, sandbox);
  }

  async start(id: string): Promise<void> {
    await Promise.resolve();
    const sandbox = this.get(id);
    if (sandbox.running) return;
    sandbox.running = true;
    delete sandbox.exitCode;
    this.emit({ type: 'started', id });
  }

  async stop(id: string): Promise<void> {
    await Promise.resolve();
    const sandbox = this.get(id);
    if (!sandbox.running) return;
    sandbox.running = false;
    delete sandbox.paused;
    sandbox.exitCode = 143;
    this.processes.forget(id);
    this.watchers.end(id);
    // Like tmpfs in a real container, the mounts come back empty.
    for (const key of [...sandbox.files.keys()]) {
      if (sandbox.tmpfs.some((root) => within(key, root) && key !== root)) sandbox.files.delete(key);
    }
    this.emit({ type: 'died', id, exitCode: 143, oomKilled: false });
  }

  async remove(id: string): Promise<void> {
    await Promise.resolve();
    this.processes.forget(id);
    this.watchers.end(id);
    this.ports.close(id);
    if (this.sandboxes.delete(id)) this.emit({ type: 'removed', id });
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

  /** Simulates the sandbox's main process dying on its own (crash, OOM kill). */
  simulateDeath(id: string, exitCode: number, oomKilled = false): void {
    const sandbox = this.get(id);
    sandbox.running = false;
    sandbox.exitCode = exitCode;
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
      ip: '',
      config: sandbox.config,
    };
    if (sandbox.exitCode !== undefined) info.exitCode = sandbox.exitCode;
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
    sandbox.processes += 1;
    void runCommand(options.cmd, {
      env: { ...sandbox.config.env, ...options.env },
      workdir: options.workdir ?? sandbox.config.workdir ?? '/',
      stdin: async () => {
        // A kill ends a read of stdin as it ends a sleep.
        while (!stdinEnded) {
          killer.signal.throwIfAborted();
          await new Promise<void>((resolve) => (stdinWaiter = resolve));
        }
        return Buffer.concat(stdinChunks);
      },
      readFile: (path) => {
        const node = sandbox.files.get(keyOf(sandboxPathBytes(path)));
        return node?.kind === 'file' ? node.data : undefined;
      },
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
        sandbox.processes -= 1;
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

  private writable(sandbox: FakeSandbox, key: string): void {
    if (sandbox.config.writableRootfs === true) return;
    const mounts = [
      ...sandbox.tmpfs,
      ...(sandbox.config.storage?.volumes ?? []).filter((v) => !v.readOnly).map((v) => v.mountPath),
    ];
    if (!mounts.some((root) => within(key, root))) {
      throw new BurrowError('READ_ONLY', `${display(key)}: the path is on a read-only filesystem`);
    }
  }

  private node(sandbox: FakeSandbox, key: string): FsNode {
    const node = sandbox.files.get(key);
    if (node === undefined)
      throw new BurrowError('FILE_NOT_FOUND', `${display(key)}: no such file or directory`);
    return node;
  }

  private fileInfo(key: string, node: FsNode): FileInfo {
    const type = node.kind === 'dir' ? 0o040000 : 0o100000;
    return {
      name: display(baseName(key)) || '/',
      path: display(key),
      size: node.kind === 'file' ? node.data.length : 4096,
      mode: modeString(type | node.mode),
      modTime: node.mtime,
      isDir: node.kind === 'dir',
      isSymlink: false,
    };
  }

  private makeParents(sandbox: FakeSandbox, key: string): void {
    const parent = parentOf(key);
    if (parent === key) return;
    const existing = sandbox.files.get(parent);
    if (existing?.kind === 'dir') return;
    if (existing !== undefined)
      throw new BurrowError(
        'NOT_A_DIRECTORY',
        `${display(parent)}: a component of the path is not a directory`,
      );
    this.makeParents(sandbox, parent);
    this.writable(sandbox, parent);
    sandbox.files.set(parent, { kind: 'dir', mode: 0o755, mtime: new Date() });
    this.watchers.notify(sandbox.id, 'create', parent, true);
  }

  async readFile(id: string, path: SandboxPath): Promise<FileRead> {
    await Promise.resolve();
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    const node = this.node(sandbox, key);
    if (node.kind === 'dir')
      throw new BurrowError('IS_A_DIRECTORY', `${display(key)}: the path is a directory`);
    const info = this.fileInfo(key, node);
    return { info, sizeExact: info.size > 0, body: Readable.from([node.data]) };
  }

  async writeFile(
    id: string,
    path: SandboxPath,
    data: FileData,
    options: WriteFileOptions = {},
  ): Promise<{ bytes: number }> {
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    if (sandbox.files.get(key)?.kind === 'dir')
      throw new BurrowError('IS_A_DIRECTORY', `${display(key)}: the path is a directory`);
    this.writable(sandbox, key);
    this.makeParents(sandbox, key);
    const chunks: Buffer[] = [];
    for await (const chunk of inputChunks(data)) chunks.push(Buffer.from(chunk));
    const content = Buffer.concat(chunks);
    const existed = sandbox.files.has(key);
    sandbox.files.set(key, { kind: 'file', data: content, mode: options.mode ?? 0o644, mtime: new Date() });
    // A real write lands in a temporary file renamed over the target: watchers see the name appear.
    this.watchers.notify(sandbox.id, existed ? 'write' : 'create', key, false);
    return { bytes: content.length };
  }

  async listDir(id: string, path: SandboxPath, options: ListOptions = {}): Promise<DirListing> {
    await Promise.resolve();
    const max = listLimit(options);
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    if (this.node(sandbox, key).kind !== 'dir')
      throw new BurrowError('NOT_A_DIRECTORY', `${display(key)}: not a directory`);
    const entries = [...sandbox.files]
      .filter(([entry]) => entry !== key && parentOf(entry) === key)
      .map(([entry, node]) => this.fileInfo(entry, node));
    return capListing(entries, max);
  }

  async stat(id: string, path: SandboxPath): Promise<FileInfo> {
    await Promise.resolve();
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    return this.fileInfo(key, this.node(sandbox, key));
  }

  async mkdir(id: string, path: SandboxPath): Promise<void> {
    await Promise.resolve();
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    const existing = sandbox.files.get(key);
    if (existing?.kind === 'dir') return;
    if (existing !== undefined)
      throw new BurrowError('ALREADY_EXISTS', `${display(key)}: the path exists and is not a directory`);
    this.writable(sandbox, key);
    this.makeParents(sandbox, key);
    sandbox.files.set(key, { kind: 'dir', mode: 0o755, mtime: new Date() });
    this.watchers.notify(sandbox.id, 'create', key, true);
  }

  async removeFile(id: string, path: SandboxPath): Promise<void> {
    await Promise.resolve();
    const sandbox = this.running(id);
    const key = keyOf(sandboxPathBytes(path));
    if (key === '/') throw new BurrowError('INVALID_PATH', 'refusing to remove /');
    this.node(sandbox, key);
    this.writable(sandbox, key);
    // Deepest first, as a recursive remove deletes.
    const removed = [...sandbox.files.keys()]
      .filter((entry) => within(entry, key))
      .sort()
      .reverse();
    for (const entry of removed) {
      const isDir = sandbox.files.get(entry)?.kind === 'dir';
      sandbox.files.delete(entry);
      this.watchers.notify(sandbox.id, 'remove', entry, isDir);
    }
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
    return this.watchers.watch(id, key, this.node(sandbox, key).kind === 'dir', options);
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
    const files = cloneFiles(sandbox.files);
    const size = [...files.values()].reduce(
      (sum, node) => sum + (node.kind === 'file' ? node.data.length : 0),
      0,
    );
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
    await this.createWith(id, snapshot.info.config, cloneFiles(snapshot.files));
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
        await this.createWith(copy, options.config ?? sandbox.config, cloneFiles(sandbox.files));
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
    const memoryUsage = [...sandbox.files.values()].reduce(
      (sum, node) => sum + (node.kind === 'file' ? node.data.length : 0),
      0,
    );
    const memoryLimit = sandbox.config.memory ?? 0;
    return {
      cpuPercent: 0,
      memoryUsage,
      memoryLimit,
      memoryPercent: memoryLimit > 0 ? (memoryUsage / memoryLimit) * 100 : 0,
      networkRx: 0,
      networkTx: 0,
      diskRead: 0,
      diskWrite: 0,
      pidCount: sandbox.running ? 1 + sandbox.processes : 0,
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
    const sandbox = this.get(id);
    sandbox.config = { ...sandbox.config, memory: bytes };
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
    const sandbox = this.get(id);
    const defined = Object.fromEntries(
      Object.entries(limits).filter(([, value]) => value !== undefined),
    ) as SandboxLimits;
    sandbox.config = { ...sandbox.config, ...defined };
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
    const hard = sandbox.config.memory ?? 0;
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
