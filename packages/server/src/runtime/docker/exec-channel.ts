/** The Engine API path to the agent: `docker exec burrow-agent stdio`, the protocol carried on the exec's stdin/stdout. */
import { PassThrough } from 'node:stream';
import type { Duplex } from 'node:stream';
import type Dockerode from 'dockerode';
import type { AgentChannel } from '../agent/agent-client.js';
import { queuedSend } from '../agent/socket-channel.js';
import { AGENT_PATH } from './create-spec.js';

export async function openExecChannel(
  docker: Dockerode,
  container: string,
  user?: string,
): Promise<AgentChannel> {
  const options: Dockerode.ExecCreateOptions = {
    Cmd: [AGENT_PATH, 'stdio'],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
  };
  if (user !== undefined) options.User = user;
  const exec = await docker.getContainer(container).exec(options);
  const stream = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  docker.modem.demuxStream(stream, stdout, stderr);
  stderr.resume();
  stream.on('end', () => stdout.end());
  stream.on('close', () => stdout.end());
  stream.on('error', (error) => stdout.destroy(error));
  return {
    send: (data) => queuedSend(stream, data),
    incoming: stdout,
    destroy: () => stream.destroy(),
  };
}
