/**
 * How DockerRuntime reaches inside a sandbox:
 * - `socket`: the burrow-agent in each sandbox, over a unix socket in a per-sandbox host directory (the fast path);
 * - `exec`: the same agent, through `docker exec burrow-agent stdio`;
 * - `engine`: no agent at all, `docker exec` of the image's own shell and tools (engine-path/).
 * Both agent transports bind-mount the agent binary from this host, so they need the binary and a local engine.
 */
import { BurrowError } from '@burrow/protocol';

export type AgentTransport = 'socket' | 'exec' | 'engine';

export interface TransportChoice {
  transport: AgentTransport;
  /** Why, for the log line that says which path is active. */
  reason: string;
}

/** `auto` picks the agent socket when it can work, else the Engine API path. */
export function chooseTransport(
  requested: AgentTransport | undefined,
  agentBinary: string | undefined,
  dockerHost: string | undefined,
): TransportChoice {
  const remote = dockerHost !== undefined && dockerHost !== '' && !dockerHost.startsWith('unix://');
  if (requested === 'engine') return { transport: 'engine', reason: 'runtime.agent_transport is "engine"' };
  if (requested !== undefined) {
    if (agentBinary === undefined) {
      throw new BurrowError(
        'RUNTIME_UNAVAILABLE',
        `runtime.agent_transport is "${requested}" but the burrow-agent binary is missing: run "npm run build" (it ` +
          'needs gcc and the static C library, Debian packages gcc and libc6-dev), or set runtime.agent_transport ' +
          'to "auto" or "engine" to use the Docker Engine API without the agent',
      );
    }
    return { transport: requested, reason: `runtime.agent_transport is "${requested}"` };
  }
  if (agentBinary === undefined) {
    return {
      transport: 'engine',
      reason:
        'the burrow-agent binary is missing (the build needs gcc and the static C library, Debian packages gcc ' +
        'and libc6-dev, to make it)',
    };
  }
  if (remote) {
    const scheme = dockerHost.split('://')[0] ?? dockerHost;
    return {
      transport: 'engine',
      reason: `DOCKER_HOST is not a local unix socket (${scheme}://): the agent binary on this host cannot be mounted into containers on another`,
    };
  }
  return { transport: 'socket', reason: 'the agent binary is built and the Docker engine is on this host' };
}
