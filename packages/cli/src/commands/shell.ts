import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { CommandStream, Sandbox } from '@burrow/sdk';
import { clientFor } from '../client.js';
import { writeOut } from '../output.js';
import { CwdMarkerFilter, SHELL_SCRIPT } from '../shell-marker.js';

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

export function registerShell(program: Command): void {
  program
    .command('shell')
    .description('line-mode shell in a sandbox: each line runs with sh -c; cd persists between lines')
    .argument('<id>', 'sandbox id')
    .addHelpText(
      'after',
      `
Each line runs as its own command (no TTY: full-screen programs do not work). Shell state other than the
working directory (variables, functions) does not carry over to the next line. Ctrl-C interrupts the running
command; "exit" or Ctrl-D leaves.

Examples:
  burrow shell $ID
  printf 'cd /tmp\\nls -la\\n' | burrow shell $ID`,
    )
    .action(async (id: string, _flags: unknown, command: Command) => {
      const sandbox = await clientFor(command).get(id);
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
