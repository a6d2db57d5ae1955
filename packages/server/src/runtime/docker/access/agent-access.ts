/**
 * The agent paths as a SandboxAccess: the burrow-agent inside the sandbox performs every call (agent/PROTOCOL.md).
 * How a request's channel reaches the agent is the connector's business (its unix socket channel, or `docker exec
 * burrow-agent stdio`); everything else is the same on both.
 */
import { AgentClient, DEFAULT_DEADLINES, signalNumber, type AgentChannel } from '../../agent/agent-client.js';
import { AgentProcessClient } from '../../agent/agent-processes.js';
import { tunnelDuplex } from '../../agent/tunnel.js';
import type { Duplex } from 'node:stream';
import { newProcessId } from '../../process-options.js';
import { envList, type ProcessHandle } from '../../exec-support.js';
import {
  DEFAULT_PROCESS_BUFFER_BYTES,
  type AttachOptions,
  type DirListing,
  type ExecOptions,
  type FileData,
  type FileInfo,
  type FileRead,
  type ProcessAttachment,
  type ProcessInfo,
  type ProcessInputOptions,
  type ProcessStartOptions,
  type SandboxConfig,
  type PtySize,
  type WatchOptions,
  type WatchStream,
} from '../../runtime.js';
import type { TmpfsArchiver } from '../snapshots.js';
import type { AgentTransport } from '../transport.js';
import type { AgentMounts, SandboxAccess } from './sandbox-access.js';

/** Opens request channels to one sandbox's agent. */
export interface AgentConnector {
  readonly transport: Exclude<AgentTransport, 'engine'>;
  prepare(id: string, config: SandboxConfig): Promise<AgentMounts>;
  open(id: string): Promise<AgentChannel>;
  ready(id: string, stoppedEarly: () => Promise<void>): Promise<void>;
  release(id: string): Promise<void>;
  /** The user a request names: '' (the agent's default, the image's user) or the image's user explicitly. */
  requestUser(id: string): Promise<string>;
}

export class AgentAccess implements SandboxAccess {
  readonly archiveFormat = 'agent' as const;

  constructor(private readonly connector: AgentConnector) {}

  get transport(): AgentTransport {
    return this.connector.transport;
  }

  private client(id: string): AgentClient {
    return new AgentClient(() => this.connector.open(id));
  }

  prepare(id: string, config: SandboxConfig): Promise<AgentMounts | undefined> {
    return this.connector.prepare(id, config);
  }

  checkCreated(): Promise<void> {
    return Promise.resolve();
  }

  ready(id: string, stoppedEarly: () => Promise<void>): Promise<void> {
    return this.connector.ready(id, stoppedEarly);
  }

  release(id: string): Promise<void> {
    return this.connector.release(id);
  }

  async exec(id: string, options: ExecOptions): Promise<ProcessHandle> {
    const agentProcess = await this.client(id).exec({
      cmd: options.cmd,
      env: envList(options.env),
      workdir: options.workdir ?? '',
      user: options.user ?? (await this.connector.requestUser(id)),
      timeoutMs: options.timeoutMs ?? 0,
      withStdin: options.stdin !== undefined || options.openStdin === true,
      ...(options.pty === undefined ? {} : { pty: options.pty }),
    });
    return {
      events: agentProcess.events,
      stdin: {
        write: (data) => agentProcess.writeStdin(typeof data === 'string' ? Buffer.from(data) : data),
        end: () => agentProcess.endStdin(),
      },
      kill: (signal) => agentProcess.signal(signal),
      ...(options.pty === undefined
        ? {}
        : { resize: (size: PtySize) => agentProcess.resize(size.cols, size.rows) }),
      destroy: () => agentProcess.destroy(),
    };
  }

  async readFile(id: string, path: Buffer): Promise<FileRead> {
    return this.client(id).readFile(await this.connector.requestUser(id), path);
  }

  async writeFile(id: string, path: Buffer, mode: number, data: FileData): Promise<{ bytes: number }> {
    return this.client(id).writeFile(await this.connector.requestUser(id), path, mode, data);
  }

  async listDir(id: string, path: Buffer, maxEntries: number): Promise<DirListing> {
    return this.client(id).list(await this.connector.requestUser(id), path, maxEntries);
  }

  async stat(id: string, path: Buffer): Promise<FileInfo> {
    return this.client(id).stat(await this.connector.requestUser(id), path);
  }

  async mkdir(id: string, path: Buffer): Promise<void> {
    await this.client(id).mkdir(await this.connector.requestUser(id), path);
  }

  async remove(id: string, path: Buffer): Promise<void> {
    await this.client(id).remove(await this.connector.requestUser(id), path);
  }

  private processes(id: string): AgentProcessClient {
    return new AgentProcessClient(this.client(id), DEFAULT_DEADLINES);
  }

  async startProcess(id: string, options: ProcessStartOptions): Promise<ProcessInfo> {
    const user = options.user ?? (await this.connector.requestUser(id));
    const buffer = options.bufferBytes ?? DEFAULT_PROCESS_BUFFER_BYTES;
    return this.processes(id).start(newProcessId(), user, envList(options.env), options, buffer);
  }

  listProcesses(id: string): Promise<ProcessInfo[]> {
    return this.processes(id).list();
  }

  getProcess(id: string, processId: string): Promise<ProcessInfo> {
    return this.processes(id).get(processId);
  }

  async attachProcess(id: string, processId: string, options: AttachOptions): Promise<ProcessAttachment> {
    options.signal?.throwIfAborted();
    const attachment = await this.processes(id).attach(processId, options.replay === true);
    const onAbort = () => attachment.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const iterator = attachment.events[Symbol.asyncIterator]();
    return {
      info: attachment.info,
      [Symbol.asyncIterator]: () => iterator,
      close: async () => {
        options.signal?.removeEventListener('abort', onAbort);
        attachment.close();
        await iterator.return?.(undefined);
      },
    };
  }

  async waitProcess(
    id: string,
    processId: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<ProcessInfo> {
    const exited = await this.processes(id).wait(processId, timeoutMs, signal);
    return exited ?? (await this.getProcess(id, processId));
  }

  sendProcessInput(
    id: string,
    processId: string,
    data: Uint8Array,
    options: ProcessInputOptions,
  ): Promise<void> {
    return this.processes(id).input(processId, data, options.eof === true);
  }

  signalProcess(id: string, processId: string, signal: string): Promise<void> {
    return this.processes(id).signal(processId, signalNumber(signal), false);
  }

  killProcess(id: string, processId: string): Promise<void> {
    return this.processes(id).signal(processId, signalNumber('SIGKILL'), true);
  }

  resizeProcess(id: string, processId: string, size: PtySize): Promise<void> {
    return this.processes(id).resize(processId, size);
  }

  async watch(id: string, path: Buffer, options: WatchOptions): Promise<WatchStream> {
    options.signal?.throwIfAborted();
    const watch = await this.processes(id).watch(path, options.recursive === true);
    const onAbort = () => watch.close();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const iterator = watch.events[Symbol.asyncIterator]();
    return {
      [Symbol.asyncIterator]: () => iterator,
      close: async () => {
        options.signal?.removeEventListener('abort', onAbort);
        watch.close();
        await iterator.return?.(undefined);
      },
    };
  }

  async connectPort(id: string, port: number, host: string): Promise<Duplex> {
    const { channel, reader } = await this.processes(id).connect(host, port);
    return tunnelDuplex(channel, reader);
  }

  archiver(id: string): TmpfsArchiver {
    const client = this.client(id);
    return {
      archive: (path) => client.archive(path),
      unpack: (path, archive) => client.unpack(path, archive),
    };
  }
}
