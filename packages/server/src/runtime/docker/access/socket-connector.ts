/** The agent over its unix socket in a per-sandbox host directory (the fast path). */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BurrowError } from '@burrow/protocol';
import { AgentClient, type AgentChannel } from '../../agent/agent-client.js';
import { openSocketChannel } from '../../agent/socket-channel.js';
import type { AgentConnector } from './agent-access.js';
import type { AgentMounts } from './sandbox-access.js';

const AGENT_READY_TIMEOUT_MS = 15_000;

export interface SocketConnectorOptions {
  binaryPath: string;
  runDir(id: string): string;
  unreachable(id: string, cause: unknown): Promise<Error>;
}

export class SocketConnector implements AgentConnector {
  readonly transport = 'socket' as const;

  constructor(private readonly options: SocketConnectorOptions) {}

  private socketPath(id: string): string {
    return join(this.options.runDir(id), 'agent.sock');
  }

  async prepare(id: string): Promise<AgentMounts> {
    const channelDir = this.options.runDir(id);
    await rm(channelDir, { recursive: true, force: true });
    await mkdir(channelDir, { recursive: true, mode: 0o700 });
    return { binaryPath: this.options.binaryPath, channelDir };
  }

  async open(id: string): Promise<AgentChannel> {
    try {
      return await openSocketChannel(this.socketPath(id));
    } catch (error) {
      throw await this.options.unreachable(id, error);
    }
  }

  /** Waits until the agent accepts connections; fails early when the sandbox's main process exits instead. */
  async ready(id: string, stoppedEarly: () => Promise<void>): Promise<void> {
    const deadline = Date.now() + AGENT_READY_TIMEOUT_MS;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await new AgentClient(() => openSocketChannel(this.socketPath(id))).ping();
        return;
      } catch {
        // Not listening yet.
      }
      if (attempt % 20 === 19) await stoppedEarly();
      if (Date.now() > deadline)
        throw new BurrowError('INTERNAL', `the agent in sandbox ${id} did not start within 15 s`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(2 + attempt, 25)));
    }
  }

  async release(id: string): Promise<void> {
    await rm(this.options.runDir(id), { recursive: true, force: true });
  }

  /** The agent's default user is the image's user. */
  requestUser(): Promise<string> {
    return Promise.resolve('');
  }
}
