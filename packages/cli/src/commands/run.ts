/** `burrow run` (start a background process) and `burrow attach` (join one). */
import type { Command } from 'commander';
import type { Sandbox } from '@burrow/sdk';
import { clientFor } from '../client.js';
import { collectKeyValue, parseDurationSeconds } from '../parse.js';
import { attachedTerminal, joinTerminal, terminalSize } from '../terminal.js';
import { followOutput, resolveProcess } from './processes.js';

interface RunFlags {
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  tag?: string;
  env?: Record<string, string>;
  workdir?: string;
  user?: string;
  timeout?: number;
}

/** Ctrl-] leaves a terminal attached to a background process (Ctrl-C belongs to the program there). */
const DETACH_KEY = 0x1d;

/** Joins a running process: a terminal when it has one and stdin is a TTY, else its output (and stdin). */
async function join(sandbox: Sandbox, processId: string, replay: boolean): Promise<number | undefined> {
  const info = await sandbox.processes.get(processId);
  if (info.pty && info.stdin && process.stdin.isTTY === true) {
    const attachment = await sandbox.processes.attach(processId, { replay });
    attachment.resize(terminalSize(process.stdout));
    const outcome = await joinTerminal(
      attachedTerminal(attachment),
      { input: process.stdin, output: process.stdout },
      { detachKey: DETACH_KEY },
    );
    if (!outcome.detached) return outcome.exitCode;
    process.stderr.write(`\r\nburrow: detached; ${processId} keeps running\r\n`);
    return undefined;
  }
  const forwarding = info.stdin && process.stdin.isTTY !== true;
  if (forwarding) {
    // Piped input goes to the process as it comes; its end closes the process's stdin.
    const onData = (chunk: Buffer) =>
      void sandbox.processes.sendInput(processId, chunk).catch(() => undefined);
    process.stdin.on('data', onData);
    process.stdin.once(
      'end',
      () => void sandbox.processes.sendInput(processId, '', { eof: true }).catch(() => undefined),
    );
  }
  try {
    const code = await followOutput(sandbox, processId, replay);
    if (code === undefined) process.stderr.write(`burrow: detached; ${processId} keeps running\n`);
    return code;
  } finally {
    if (forwarding) {
      process.stdin.removeAllListeners('data');
      process.stdin.pause();
      process.stdin.unref?.();
    }
  }
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('start a background process in a sandbox: it keeps running when you disconnect')
    .argument('<id>', 'sandbox id')
    .argument('<cmd...>', 'the command and its arguments (put them after --)')
    .option('-d, --detach', 'print the process id and return at once')
    .option('-i, --interactive', "keep the process's stdin open (and forward yours to it)")
    .option('-t, --tty', 'run it on a terminal')
    .option('--tag <name>', 'a name for the process (burrow logs/kill accept it instead of the id)')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .option('--workdir <dir>', 'working directory')
    .option('--user <user>', 'user to run as (name, uid, name:group)')
    .option('--timeout <duration>', 'kill it after this long, e.g. 30m', parseDurationSeconds)
    .addHelpText(
      'after',
      `
The process belongs to the sandbox, not to this command: it survives Ctrl-C, a lost connection and a restart of
the server, until it exits, is killed (burrow kill) or the sandbox stops. Without -d its output is followed (and
the command exits with its exit code); Ctrl-C stops following. With -it on a terminal you are attached to it;
Ctrl-] detaches. Come back with burrow logs -f or burrow attach.

Examples:
  burrow run -d --tag web $ID -- python3 -m http.server 8000
  burrow logs $ID web
  burrow run -it --tag repl $ID -- python3
  burrow kill $ID web`,
    )
    .action(async (id: string, cmd: string[], flags: RunFlags, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      const info = await sandbox.processes.start(cmd, {
        ...(flags.tag === undefined ? {} : { tag: flags.tag }),
        ...(flags.env === undefined ? {} : { env: flags.env }),
        ...(flags.workdir === undefined ? {} : { cwd: flags.workdir }),
        ...(flags.user === undefined ? {} : { user: flags.user }),
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
        ...(flags.tty === true ? { pty: terminalSize(process.stdout) } : {}),
        stdin: flags.interactive === true,
      });
      if (flags.detach === true) {
        process.stdout.write(`${info.id}\n`);
        return;
      }
      process.stderr.write(`burrow: started ${info.id}\n`);
      const code = await join(sandbox, info.id, true);
      if (code !== undefined) process.exitCode = code;
    });

  program
    .command('attach')
    .description('join a background process: its terminal, or its output (and stdin)')
    .argument('<id>', 'sandbox id')
    .argument('<proc>', 'process id (proc_...) or tag')
    .option('--no-replay', 'only new output, not what it printed before')
    .addHelpText(
      'after',
      `
A process on a terminal (run -t) takes your keys raw when stdin is a terminal; Ctrl-] detaches. Otherwise its
output is followed, and Ctrl-C stops following. Either way the process keeps running.

Examples:
  burrow attach $ID repl
  burrow attach --no-replay $ID proc_0a1b2c3d4e5f6a7b`,
    )
    .action(async (id: string, ref: string, flags: { replay: boolean }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      const info = await resolveProcess(sandbox, ref);
      const code = await join(sandbox, info.id, flags.replay);
      if (code !== undefined) process.exitCode = code;
    });
}
