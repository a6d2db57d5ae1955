import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { BurrowError, DEFAULT_SHELL, type CommandStream, type Sandbox } from '@burrow/sdk';
import { clientFor } from '../client.js';
import { writeOut } from '../output.js';
import { CwdMarkerFilter, SHELL_SCRIPT } from '../shell-marker.js';
import { execTerminal, joinTerminal, terminalSize } from '../terminal.js';

/** Runs one line in the sandbox at `cwd`; resolves with its exit code and the directory it ended in. */
async function runLine(
  sandbox: Sandbox,
  line: string,
  cwd: string | undefined,
  onStart: (proc: CommandStream) => void,
): Promise<{ exitCode: number; cwd: string | undefined }> {
  const proc = await sandbox.commands.stream(['sh', '-c', SHELL_SCRIPT], {
    env: { BURROW_SHELL_LINE: line },
    ...(cwd === undefined ? {} : { cwd }),
  });
  onStart(proc);
  const filter = new CwdMarkerFilter();
  let exitCode = 0;
  for await (const event of proc) {
    if (event.type === 'stdout') await writeOut(process.stdout, event.data);
    else if (event.type === 'stderr') await writeOut(process.stderr, filter.feed(event.data));
    else exitCode = event.exitCode;
  }
  const { cwd: reported, rest } = filter.finish();
  if (rest !== '') await writeOut(process.stderr, rest);
  return { exitCode, cwd: reported ?? cwd };
}

/** An interactive shell on a remote terminal; resolves with the shell's exit code. */
async function terminalShell(sandbox: Sandbox, shell: string[] | undefined): Promise<number> {
  const stream = await sandbox.commands.stream(shell ?? DEFAULT_SHELL, {
    stdin: true,
    pty: terminalSize(process.stdout),
  });
  const outcome = await joinTerminal(execTerminal(stream), { input: process.stdin, output: process.stdout });
  return outcome.detached ? 0 : outcome.exitCode;
}

export function registerShell(program: Command): void {
  program
    .command('shell')
    .description('interactive shell in a sandbox (a real terminal when stdin is one, else line mode)')
    .argument('<id>', 'sandbox id')
    .option(
      '--shell <program>',
      'the shell to run on the terminal (default: bash if the image has it, else sh)',
    )
    .option('--line', 'line mode even on a terminal')
    .addHelpText(
      'after',
      `
On a terminal, the sandbox's shell runs on a remote terminal of your window's size: its prompt, line editing,
history, full-screen programs (vim, top) and job control work; Ctrl-C and Ctrl-Z reach the remote program; the
window size is followed; "exit" or Ctrl-D leaves with the shell's exit status, and your terminal is restored.

Without a terminal (pipes, scripts) or with --line, each line runs as its own "sh -c" command: the working
directory persists between lines, other shell state does not; Ctrl-C interrupts the running command.

Examples:
  burrow shell $ID
  burrow shell --shell /bin/sh $ID
  printf 'cd /tmp\\nls -la\\n' | burrow shell $ID`,
    )
    .action(async (id: string, flags: { shell?: string; line?: boolean }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      if (process.stdin.isTTY === true && process.stdout.isTTY === true && flags.line !== true) {
        try {
          process.exitCode = await terminalShell(
            sandbox,
            flags.shell === undefined ? undefined : [flags.shell],
          );
          return;
        } catch (error) {
          // A server without the in-sandbox agent has no terminals: the line mode still works there.
          if (!(error instanceof BurrowError && error.code === 'NOT_SUPPORTED')) throw error;
          process.stderr.write(
            'burrow: this server offers no terminals (it runs without the agent): line mode\n',
          );
        }
      }
      const interactive = process.stdin.isTTY === true;
      const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: interactive });
      let cwd: string | undefined;
      let running: CommandStream | undefined;
      const prompt = () => {
        rl.setPrompt(`${sandbox.id.slice(0, 12)}:${cwd ?? '~'}$ `);
        if (interactive) rl.prompt();
      };
      const onInterrupt = () => {
        if (running !== undefined) running.kill('SIGINT');
        else if (interactive) {
          process.stdout.write('^C\n');
          rl.write(null, { ctrl: true, name: 'u' });
          prompt();
        }
      };
      rl.on('SIGINT', onInterrupt);
      process.on('SIGINT', onInterrupt);
      let lastExit = 0;
      try {
        prompt();
        for await (const line of rl) {
          const trimmed = line.trim();
          const exit = /^exit(?:\s+(\d+))?$/.exec(trimmed);
          if (exit !== null) {
            if (exit[1] !== undefined) lastExit = Number(exit[1]);
            break;
          }
          if (trimmed !== '') {
            try {
              const result = await runLine(sandbox, line, cwd, (proc) => (running = proc));
              lastExit = result.exitCode;
              cwd = result.cwd;
            } catch (error) {
              process.stderr.write(`burrow: ${error instanceof Error ? error.message : String(error)}\n`);
              lastExit = 1;
            } finally {
              running = undefined;
            }
          }
          prompt();
        }
      } finally {
        process.off('SIGINT', onInterrupt);
        rl.close();
        process.stdin.pause();
      }
      if (interactive) process.stdout.write('\n');
      process.exitCode = lastExit;
    });
}
