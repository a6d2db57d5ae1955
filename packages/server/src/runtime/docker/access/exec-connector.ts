/** The agent through the Engine API: each request is a `docker exec burrow-agent stdio` (exec-channel.ts). */
import type Dockerode from 'dockerode';
import { BurrowError } from '@burrow/protocol';
import type { SandboxConfig } from '../../runtime.js';
import type { AgentChannel } from '../../agent/agent-client.js';
import { openExecChannel } from '../exec-channel.js';
import { containerName } from '../labels.js';
import type { AgentConnector } from './agent-access.js';
import type { AgentMounts } from './sandbox-access.js';

export interface ExecConnectorOptions {
  docker: Dockerode;
  binaryPath: string;
  /** The image's user of a sandbox ('' for root). */
  userOf(id: string): Promise<string>;
  /** Turns a failure to reach a sandbox into the error a caller should see. */
  unreachable(id: string, cause: unknown): Promise<Error>;
}

export class ExecConnector implements AgentConnector {
  readonly transport = 'exec' as const;

  constructor(private readonly options: ExecConnectorOptions) {}

  /** Only the binary: no channel directory, the agent is reached through `docker exec` alone. */
  prepare(_id: string, config: SandboxConfig): Promise<AgentMounts> {
    if (config.egress !== undefined) {
      return Promise.reject(
        new BurrowError(
          'NOT_SUPPORTED',
          'an egress policy needs the agent channel (runtime.agent_transport "socket" or "auto"); this server reaches sandboxes through docker exec',
        ),
      );
    }
    return Promise.resolve({ binaryPath: this.options.binaryPath });
  }

  async open(id: string): Promise<AgentChannel> {
    try {
      return await openExecChannel(this.options.docker, containerName(id), '0');
    } catch (error) {
      throw await this.options.unreachable(id, error);
    }
  }

  /** `docker exec` works as soon as the container runs. */
  ready(_id: string, stoppedEarly: () => Promise<void>): Promise<void> {
    return stoppedEarly();
  }

  release(): Promise<void> {
    return Promise.resolve();
  }

  /** A `docker exec` runs as root: name the image's user explicitly. */
  async requestUser(id: string): Promise<string> {
    const user = await this.options.userOf(id);
    return user === '' ? '0' : user;
  }
}
