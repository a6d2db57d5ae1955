/**
 * The agent over its channel (the fast path): the server listens on a socket of the sandbox's own and the agent
 * connects out to it (runtime/agent/channel-listener.ts). The same design holds across gVisor's boundary, where
 * a socket inside the sandbox would live in gVisor's kernel and could not be reached from the host.
 */
import { BurrowError } from '@burrow/protocol';
import { AgentClient, type AgentChannel } from '../../agent/agent-client.js';
import type { AgentChannels } from '../../agent/channel-listener.js';
import type { AgentConnector } from './agent-access.js';
import type { AgentMounts } from './sandbox-access.js';
import { EGRESS_PROXY_PORT, type EgressHandler, type SandboxConfig } from '../../runtime.js';

/** How long a started sandbox's agent has to connect. */
const AGENT_READY_TIMEOUT_MS = 15_000;
/** How long a request waits for an idle connection (the agent keeps two ready; this covers a burst or a restart). */
const OPEN_TIMEOUT_MS = 5_000;
const QUICK_OPEN_MS = 200;

export interface SocketConnectorOptions {
  binaryPath: string;
  channels: AgentChannels;
  /** Where a proxy-only sandbox's connections go (the server's egress proxy); absent: egress policies are refused. */
  egress?: EgressHandler;
  unreachable(id: string, cause: unknown): Promise<Error>;
}

export class SocketConnector implements AgentConnector {
  readonly transport = 'socket' as const;

  constructor(private readonly options: SocketConnectorOptions) {}

  async prepare(id: string, config: SandboxConfig): Promise<AgentMounts> {
    if (config.egress !== undefined && this.options.egress === undefined) {
      throw new BurrowError(
        'NOT_SUPPORTED',
        'egress policies are not enabled on this server (it runs no egress proxy)',
      );
    }
    const channelDir = await this.options.channels.listen(
      id,
      config.egress === undefined ? undefined : this.options.egress,
    );
    return {
      binaryPath: this.options.binaryPath,
      channelDir,
      ...(config.egress === undefined ? {} : { egressPort: EGRESS_PROXY_PORT }),
    };
  }

  /**
   * Takes one of the agent's idle connections. None at once means a burst, an agent restarting, or a sandbox that
   * stopped: the last is told apart (and answered at once) before waiting any longer.
   */
  async open(id: string): Promise<AgentChannel> {
    try {
      return await this.options.channels.open(id, QUICK_OPEN_MS);
    } catch (error) {
      const reason = await this.options.unreachable(id, error);
      if (!(reason instanceof BurrowError) || reason.code !== 'AGENT_UNREACHABLE') throw reason;
    }
    try {
      return await this.options.channels.open(id, OPEN_TIMEOUT_MS);
    } catch (error) {
      throw await this.options.unreachable(id, error);
    }
  }

  /** Waits until the agent connects and answers a ping; fails early when the main process exits instead. */
  async ready(id: string, stoppedEarly: () => Promise<void>): Promise<void> {
    await this.options.channels.listen(id);
    const deadline = Date.now() + AGENT_READY_TIMEOUT_MS;
    for (;;) {
      try {
        // The agent connects as soon as it runs; the engine is asked whether the sandbox died only once a second.
        await new AgentClient(() => this.options.channels.open(id, 1000)).ping();
        return;
      } catch (error) {
        if (!(error instanceof BurrowError) || error.code !== 'AGENT_UNREACHABLE') throw error;
      }
      await stoppedEarly();
      if (Date.now() > deadline) {
        throw new BurrowError(
          'AGENT_UNREACHABLE',
          `the agent in sandbox ${id} did not connect within ${AGENT_READY_TIMEOUT_MS / 1000} s`,
        );
      }
    }
  }

  release(id: string): Promise<void> {
    return this.options.channels.close(id);
  }

  /** The agent's default user is the image's user. */
  requestUser(): Promise<string> {
    return Promise.resolve('');
  }
}
