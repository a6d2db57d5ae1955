/**
 * The agent paths as a SandboxAccess: the burrow-agent inside the sandbox performs every call (agent/PROTOCOL.md).
 * How a request's channel reaches the agent is the connector's business (its unix socket channel, or `docker exec
 * burrow-agent stdio`); everything else is the same on both.
 */
import { AgentClient, type AgentChannel } from '../../agent/agent-client.js';
import { envList, type ProcessHandle } from '../../exec-support.js';
import type { DirListing, ExecOptions, FileData, FileInfo, FileRead } from '../../runtime.js';
import type { TmpfsArchiver } from '../snapshots.js';
import type { AgentTransport } from '../transport.js';
import type { AgentMounts, SandboxAccess } from './sandbox-access.js';

/** Opens request channels to one sandbox's agent. */
export interface AgentConnector {
  readonly transport: Exclude<AgentTransport, 'engine'>;
  prepare(id: string): Promise<AgentMounts>;
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

  prepare(id: string): Promise<AgentMounts | undefined> {
    return this.connector.prepare(id);
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
      user: await this.connector.requestUser(id),
      timeoutMs: Math.ceil(options.timeoutMs ?? 0),
      withStdin: options.stdin !== undefined || options.openStdin === true,
    });
    return {
      events: agentProcess.events,
      stdin: {
        write: (data) => agentProcess.writeStdin(typeof data === 'string' ? Buffer.from(data) : data),
        end: () => agentProcess.endStdin(),
      },
      kill: (signal) => agentProcess.signal(signal),
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

  archiver(id: string): TmpfsArchiver {
    const client = this.client(id);
    return {
      archive: (path) => client.archive(path),
      unpack: (path, archive) => client.unpack(path, archive),
    };
  }
}
