/** The Engine API path as a SandboxAccess: every call is a `docker exec` of the image's own shell (engine-path/). */
import type { ProcessHandle } from '../../exec-support.js';
import { capListing } from '../../listing.js';
import type {
  DirListing,
  ExecOptions,
  FileData,
  FileInfo,
  FileRead,
  ProcessAttachment,
  ProcessInfo,
  SandboxConfig,
  WatchStream,
} from '../../runtime.js';
import { notSupported } from './not-supported.js';
import { EngineClient, type ExecTarget } from '../engine-path/engine-client.js';
import { containerName } from '../labels.js';
import type { TmpfsArchiver } from '../snapshots.js';
import type { AgentMounts, SandboxAccess } from './sandbox-access.js';
import type Dockerode from 'dockerode';
import type { Duplex } from 'node:stream';

export class EngineAccess implements SandboxAccess {
  readonly transport = 'engine' as const;
  readonly archiveFormat = 'tar' as const;
  private readonly client: EngineClient;

  /** `userOf` gives the image's user, which this path's processes run as (root when empty). */
  constructor(
    docker: Dockerode,
    private readonly userOf: (id: string) => Promise<string>,
  ) {
    this.client = new EngineClient(docker);
  }

  private async target(id: string): Promise<ExecTarget> {
    const user = await this.userOf(id);
    return { container: containerName(id), sandbox: id, user: user === '' ? '0' : user };
  }

  prepare(_id: string, config: SandboxConfig): Promise<AgentMounts | undefined> {
    if (config.egress !== undefined) return notSupported('an egress policy');
    return Promise.resolve(undefined);
  }

  checkCreated(id: string, image: string): Promise<void> {
    return this.client.checkShell(containerName(id), image);
  }

  /** No agent to wait for; a main process that exits at once is still reported. */
  ready(_id: string, stoppedEarly: () => Promise<void>): Promise<void> {
    return stoppedEarly();
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  async exec(id: string, options: ExecOptions): Promise<ProcessHandle> {
    if (options.pty !== undefined) return notSupported('a terminal (pty)');
    return this.client.exec(await this.target(id), options);
  }

  async readFile(id: string, path: Buffer): Promise<FileRead> {
    return this.client.files.readFile(await this.target(id), path);
  }

  async writeFile(id: string, path: Buffer, mode: number, data: FileData): Promise<{ bytes: number }> {
    return this.client.files.writeFile(await this.target(id), path, mode, data);
  }

  async listDir(id: string, path: Buffer, maxEntries: number): Promise<DirListing> {
    return capListing(await this.client.files.listDir(await this.target(id), path), maxEntries);
  }

  async stat(id: string, path: Buffer): Promise<FileInfo> {
    return this.client.files.stat(await this.target(id), path);
  }

  async mkdir(id: string, path: Buffer): Promise<void> {
    return this.client.files.mkdir(await this.target(id), path);
  }

  async remove(id: string, path: Buffer): Promise<void> {
    return this.client.files.remove(await this.target(id), path);
  }

  startProcess(): Promise<ProcessInfo> {
    return notSupported('background processes');
  }

  listProcesses(): Promise<ProcessInfo[]> {
    return notSupported('background processes');
  }

  getProcess(): Promise<ProcessInfo> {
    return notSupported('background processes');
  }

  attachProcess(): Promise<ProcessAttachment> {
    return notSupported('background processes');
  }

  waitProcess(): Promise<ProcessInfo> {
    return notSupported('background processes');
  }

  sendProcessInput(): Promise<void> {
    return notSupported('background processes');
  }

  signalProcess(): Promise<void> {
    return notSupported('background processes');
  }

  killProcess(): Promise<void> {
    return notSupported('background processes');
  }

  resizeProcess(): Promise<void> {
    return notSupported('background processes');
  }

  watch(): Promise<WatchStream> {
    return notSupported('watching files');
  }

  connectPort(): Promise<Duplex> {
    return notSupported('connecting to a sandbox port');
  }

  archiver(id: string): TmpfsArchiver {
    return this.client.archiver({ container: containerName(id), sandbox: id, user: '0' });
  }
}
