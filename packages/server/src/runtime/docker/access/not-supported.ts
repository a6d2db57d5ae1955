/** The answer of a path that cannot run background processes or watches (the Engine API path, without an agent). */
import { BurrowError } from '@burrow/protocol';

export function notSupported(what: string): Promise<never> {
  return Promise.reject(
    new BurrowError(
      'NOT_SUPPORTED',
      `${what} needs the burrow-agent inside the sandbox, which this server's path does not use (runtime.agent_transport ` +
        'is "engine", or the agent binary was not built): build it (gcc and libc6-dev) and use the socket or exec transport',
    ),
  );
}
