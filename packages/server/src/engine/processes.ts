/**
 * Background processes, terminals and file watching as use cases: each call checks that the sandbox is running
 * (as exec does), adds the sandbox's env and the server's replay buffer size, and passes through to the runtime.
 * The processes themselves belong to the sandbox (its agent keeps them), so nothing here survives or needs to.
 */
import type {
  AttachOptions,
  ProcessAttachment,
  ProcessInfo,
  ProcessInputOptions,
  ProcessStartOptions,
  PtySize,
  Runtime,
  SandboxPath,
  WatchOptions,
  WatchStream,
} from '../runtime/runtime.js';
import { DEFAULT_PROCESS_BUFFER_BYTES } from '../runtime/runtime.js';
import type { SandboxRecord } from '../store/store.js';
import type { AuditEvent } from './audit.js';
import { withSandboxEnv } from './warm-pool.js';

/** Runs work against a running sandbox (the engine's `inSandbox`: refuses stopped ones, learns of deaths). */
export type InSandbox = <T>(id: string, work: (record: SandboxRecord) => Promise<T>) => Promise<T>;

export interface SandboxProcessesOptions {
  runtime: Runtime;
  inSandbox: InSandbox;
  /** Bytes of each output stream a process keeps for replay (`processes.output_buffer_bytes`). */
  bufferBytes?: number;
  /** Told of every use of a sandbox through these calls (the engine's activity hook). */
  onActivity?: (id: string) => void;
  /** Records changes (a start with its argv, a signal, a kill) in the audit log. */
  audited?: <T>(event: AuditEvent, work: () => Promise<T>) => Promise<T>;
}

export class SandboxProcesses {
  private readonly runtime: Runtime;
  private readonly inSandbox: InSandbox;
  private readonly bufferBytes: number;
  private readonly onActivity: (id: string) => void;
  private readonly audited: <T>(event: AuditEvent, work: () => Promise<T>) => Promise<T>;

  constructor(options: SandboxProcessesOptions) {
    this.runtime = options.runtime;
    this.inSandbox = options.inSandbox;
    this.bufferBytes = options.bufferBytes ?? DEFAULT_PROCESS_BUFFER_BYTES;
    this.onActivity = options.onActivity ?? (() => undefined);
    this.audited = options.audited ?? ((_event, work) => work());
  }

  private use<T>(id: string, work: (record: SandboxRecord) => Promise<T>): Promise<T> {
    return this.inSandbox(id, (record) => {
      this.onActivity(id);
      return work(record);
    });
  }

  start(id: string, options: ProcessStartOptions): Promise<ProcessInfo> {
    return this.use(id, (record) =>
      this.audited({ action: 'process.start', sandboxId: id, detail: { argv: options.cmd } }, () =>
        this.runtime.startProcess(
          id,
          withSandboxEnv(record.config, { ...options, bufferBytes: options.bufferBytes ?? this.bufferBytes }),
        ),
      ),
    );
  }

  list(id: string): Promise<ProcessInfo[]> {
    return this.use(id, () => this.runtime.listProcesses(id));
  }

  get(id: string, processId: string): Promise<ProcessInfo> {
    return this.use(id, () => this.runtime.getProcess(id, processId));
  }

  attach(id: string, processId: string, options?: AttachOptions): Promise<ProcessAttachment> {
    return this.use(id, () => this.runtime.attachProcess(id, processId, options));
  }

  wait(id: string, processId: string, timeoutMs: number, signal?: AbortSignal): Promise<ProcessInfo> {
    return this.use(id, () => this.runtime.waitProcess(id, processId, timeoutMs, signal));
  }

  input(id: string, processId: string, data: Uint8Array, options?: ProcessInputOptions): Promise<void> {
    return this.use(id, () => this.runtime.sendProcessInput(id, processId, data, options));
  }

  signal(id: string, processId: string, signal: string): Promise<void> {
    return this.use(id, () =>
      this.audited({ action: 'process.signal', sandboxId: id, detail: { process: processId, signal } }, () =>
        this.runtime.signalProcess(id, processId, signal),
      ),
    );
  }

  kill(id: string, processId: string): Promise<void> {
    return this.use(id, () =>
      this.audited({ action: 'process.kill', sandboxId: id, detail: { process: processId } }, () =>
        this.runtime.killProcess(id, processId),
      ),
    );
  }

  resize(id: string, processId: string, size: PtySize): Promise<void> {
    return this.use(id, () => this.runtime.resizeProcess(id, processId, size));
  }

  watch(id: string, path: SandboxPath, options?: WatchOptions): Promise<WatchStream> {
    return this.use(id, () => this.runtime.watch(id, path, options));
  }
}
