import type { Command } from 'commander';
import { AbortedError, type CommandStream } from '@burrow/sdk';
import { clientFor } from '../client.js';
import { collectKeyValue, parseDurationSeconds } from '../parse.js';
import { writeOut } from '../output.js';
import { execTerminal, joinTerminal, terminalSize } from '../terminal.js';

interface ExecFlags {
  interactive?: boolean;
  tty?: boolean;
  env?: Record<string, string>;
  workdir?: string;
  timeout?: number;
}

/** Exit code after a second Ctrl-C (128 + SIGINT), as shells report it. */
const INTERRUPTED = 130;

/**
 * First Ctrl-C: SIGINT to the remote process (it may clean up). Second: kill it and give up. Returns a function
 * that removes the handler.
 */
export function forwardInterrupts(proc: CommandStream, onGiveUp: () => void): () => void {
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      proc.kill('SIGINT');
      return;
    }
    onGiveUp();
    proc.kill('SIGKILL');
    proc.close();
  };
  process.on('SIGINT', onSigint);
  return () => process.off('SIGINT', onSigint);
}

/** Sends this process's stdin to the remote command; returns a function that stops reading. */
function forwardStdin(proc: CommandStream): () => void {
  const onData = (chunk: Buffer) => proc.stdin.write(chunk);
  const onEnd = () => proc.stdin.end();
  process.stdin.on('data', onData);
  process.stdin.once('end', onEnd);
  return () => {
    process.stdin.off('data', onData);
    process.stdin.off('end', onEnd);
    process.stdin.pause();
    process.stdin.unref?.();
  };
}

export function registerExec(program: Command): void {
  program
    .command('exec')
    .description('run a command in a sandbox, streaming its output; exits with its exit code')
    .argument('<id>', 'sandbox id')
    .argument('<cmd...>', 'the command and its arguments (put them after --)')
    .option('-i, --interactive', 'forward stdin to the command')
    .option('-t, --tty', 'run the command on a terminal (with -i on a terminal: keys go to it raw)')
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .option('--workdir <dir>', 'working directory of the command')
    .option('--timeout <duration>', 'kill the command after this long, e.g. 30, 5m', parseDurationSeconds)
    .addHelpText(
      'after',
      `
The command is an argv list, not a shell string: use sh -c for pipes and redirections.
Ctrl-C sends SIGINT to the remote command; a second Ctrl-C kills it and exits with 130.
With -t the command gets a terminal of your window's size (stdout and stderr merged, as on any terminal);
with -it from a terminal, your keys go to it unchanged (Ctrl-C included) and your terminal is restored after.

Examples:
  burrow exec $ID -- ls -la /tmp
  burrow exec $ID -- sh -c 'ps aux | grep python'
  echo 'print(6 * 7)' | burrow exec -i $ID -- python3 -
  burrow exec --env DEBUG=1 --workdir /home/sandbox --timeout 5m $ID -- make test
  burrow exec -it $ID -- python3
  burrow exec -t $ID -- ls --color=auto /`,
    )
    .action(async (id: string, cmd: string[], flags: ExecFlags, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      const proc = await sandbox.commands.stream(cmd, {
        ...(flags.env === undefined ? {} : { env: flags.env }),
        ...(flags.workdir === undefined ? {} : { cwd: flags.workdir }),
        ...(flags.timeout === undefined ? {} : { timeoutMs: flags.timeout * 1000 }),
        ...(flags.tty === true ? { pty: terminalSize(process.stdout) } : {}),
        stdin: flags.interactive === true,
      });
      if (flags.tty === true && flags.interactive === true && process.stdin.isTTY === true) {
        const outcome = await joinTerminal(execTerminal(proc), {
          input: process.stdin,
          output: process.stdout,
        });
        process.exitCode = outcome.detached ? 0 : outcome.exitCode;
        return;
      }
      let gaveUp = false;
      const stopInterrupts = forwardInterrupts(proc, () => (gaveUp = true));
      const stopStdin = flags.interactive === true ? forwardStdin(proc) : () => undefined;
      try {
        for await (const event of proc) {
          if (event.type === 'stdout') await writeOut(process.stdout, event.bytes ?? event.data);
          else if (event.type === 'stderr') await writeOut(process.stderr, event.data);
          else {
            if (event.timedOut)
              process.stderr.write(
                `burrow: the command timed out after ${flags.timeout ?? 0}s and was killed\n`,
              );
            process.exitCode = event.exitCode;
          }
        }
      } catch (error) {
        if (gaveUp && error instanceof AbortedError) {
          process.exitCode = INTERRUPTED;
          return;
        }
        throw error;
      } finally {
        stopInterrupts();
        stopStdin();
      }
    });
}
