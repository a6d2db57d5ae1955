/**
 * A user command on the Engine API path: `docker exec` of EXEC_WRAPPER (scripts.ts), which reports the process
 * group before it becomes the command. Timeouts, kill() and close() signal that group (and, for SIGKILL on a
 * timeout or close, every process tagged with this exec's token) through a second exec, because the engine never
 * kills an exec process itself.
 */
import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import type { BurrowError } from '@burrow/protocol';
import { signalNumber } from '../../agent/agent-client.js';
import { agentFailure } from '../../agent/agent-errors.js';
import { envList, type ProcessHandle } from '../../exec-support.js';
import { TIMEOUT_EXIT_CODE, type ExecEvent, type ExecOptions } from '../../runtime.js';
import { collectRawExec, startRawExec } from './engine-exec.js';
import type { ExecTarget } from './engine-files.js';
import { scriptMessages } from './script-errors.js';
import { EXEC_WRAPPER, KILL_SCRIPT, MESSAGE_BYTE, SCRIPT_NAME } from './scripts.js';

/** Environment variable that tags every process an exec starts, so a timeout finds the ones that left its group. */
export const EXEC_TOKEN_VARIABLE = 'BURROW_EXEC_ID';

const SIGKILL = 9;
const NEWLINE = 0x0a;

/** Workdirs are data: a relative one gets `./` so neither CDPATH nor a leading `-` can change what `cd` does. */
function workdirArgument(workdir: string | undefined): string {
  if (workdir === undefined || workdir === '') return '';
  return workdir.startsWith('/') ? workdir : `./${workdir}`;
}

export async function startEngineProcess(
  docker: Dockerode,
  target: ExecTarget,
  options: ExecOptions,
): Promise<ProcessHandle> {
  const token = randomBytes(12).toString('hex');
  // The wrapper shell resets IFS in the environment it passes on; a caller's IFS is set again by env(1).
  const ifs = options.env?.IFS;
  const argv = ifs === undefined ? options.cmd : ['env', `IFS=${ifs}`, ...options.cmd];
  const raw = await startRawExec(docker, target.container, target.sandbox, {
    cmd: ['/bin/sh', '-c', EXEC_WRAPPER, SCRIPT_NAME, workdirArgument(options.workdir), ...argv],
    env: [...envList(options.env), `${EXEC_TOKEN_VARIABLE}=${token}`],
    user: target.user,
    stdin: options.stdin !== undefined || options.openStdin === true,
  });

  let pid: number | undefined;
  let resolvePid: (pid: number | undefined) => void = () => undefined;
  const pidKnown = new Promise<number | undefined>((resolve) => {
    resolvePid = resolve;
  });
  let exited = false;
  let timedOut = false;

  const signal = async (number: number, scope: 'group' | 'all') => {
    const group = pid ?? (await pidKnown);
    if (exited || (group === undefined && scope === 'group')) return;
    const killer = await startRawExec(docker, target.container, target.sandbox, {
      cmd: [
        '/bin/sh',
        '-c',
        KILL_SCRIPT,
        SCRIPT_NAME,
        String(number),
        group === undefined ? '' : String(group),
        token,
        scope,
      ],
      env: ['LC_ALL=C', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      user: target.user,
    });
    await collectRawExec(killer);
  };
  const killAll = () => signal(SIGKILL, 'all').catch(() => undefined);

  const timer =
    options.timeoutMs !== undefined && options.timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          void killAll();
        }, options.timeoutMs)
      : undefined;

  async function* events(): AsyncGenerator<ExecEvent> {
    // The wrapper's first stderr line is its message (pid, or the errno of a workdir it could not enter).
    let header: Buffer | undefined = Buffer.alloc(0);
    try {
      for await (const chunk of raw.output) {
        if (chunk.stream === 'stderr' && header !== undefined) {
          header = Buffer.concat([header, chunk.data]);
          if (header[0] !== MESSAGE_BYTE) {
            // Not the wrapper's (it always speaks first): pass everything through.
            const data = header;
            header = undefined;
            resolvePid(undefined);
            yield { type: 'stderr', data };
            continue;
          }
          const newline = header.indexOf(NEWLINE);
          if (newline < 0) continue;
          const messages = scriptMessages(header.subarray(0, newline + 1));
          const rest = header.subarray(newline + 1);
          header = undefined;
          if (messages.errno !== undefined) {
            resolvePid(undefined);
            throw workdirFailure(messages.errno, options.workdir ?? '');
          }
          pid = messages.pid;
          resolvePid(pid);
          if (rest.length > 0) yield { type: 'stderr', data: rest };
          continue;
        }
        yield { type: chunk.stream, data: chunk.data };
      }
      const exitCode = await raw.exitCode();
      exited = true;
      yield timedOut
        ? { type: 'exit', exitCode: TIMEOUT_EXIT_CODE, timedOut: true }
        : { type: 'exit', exitCode, timedOut: false };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      resolvePid(pid);
    }
  }

  return {
    events: events(),
    stdin: {
      write: (data) => raw.write(typeof data === 'string' ? Buffer.from(data) : data),
      end: () => raw.end(),
    },
    kill: (name) => signal(signalNumber(name), 'group'),
    destroy: () => {
      if (!exited && pid === undefined) {
        // Closed before the wrapper reported its pid (or never read): sweep by token, and once more in case the
        // process had not started yet.
        resolvePid(undefined);
        void killAll().then(() => new Promise((resolve) => setTimeout(resolve, 1000)).then(killAll));
      } else if (!exited) void killAll();
      if (timer !== undefined) clearTimeout(timer);
      raw.destroy();
    },
  };
}

function workdirFailure(errno: string, workdir: string): BurrowError {
  const numbers: Record<string, number> = { ENOENT: 2, ENOTDIR: 20, EACCES: 13 };
  return agentFailure(numbers[errno] ?? 0, errno, `workdir ${workdir}`);
}
