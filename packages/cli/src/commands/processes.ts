/** `burrow ps`, `burrow logs` and `burrow kill`: the background processes of a sandbox. */
import type { Command } from 'commander';
import { ProcessNotFoundError, type ProcessInfo, type Sandbox } from '@burrow/sdk';
import { clientFor, printJson, UsageError } from '../client.js';
import { writeOut } from '../output.js';
import { formatDuration, formatTable } from '../parse.js';

/** `proc_...` as it is, or a tag: the newest process with that tag (a running one first). */
export async function resolveProcess(sandbox: Sandbox, ref: string): Promise<ProcessInfo> {
  if (/^proc_[0-9a-f]+$/.test(ref)) return sandbox.processes.get(ref);
  const tagged = (await sandbox.processes.list())
    .filter((info) => info.tag === ref)
    .sort((a, b) => Number(b.running) - Number(a.running) || b.startedAt.getTime() - a.startedAt.getTime());
  const found = tagged[0];
  if (found === undefined) {
    throw new ProcessNotFoundError(
      'PROCESS_NOT_FOUND',
      404,
      `no process "${ref}" in sandbox ${sandbox.id}: give a process id (proc_...) or a tag (see burrow ps ${sandbox.id})`,
    );
  }
  return found;
}

function status(info: ProcessInfo): string {
  if (info.running) return 'running';
  if (info.timedOut) return 'timed out';
  return `exited (${info.exitCode ?? '?'})`;
}

/** The `ps` table rows: ID PID TAG STATUS STARTED COMMAND. */
export function processRows(infos: ProcessInfo[], now: number = Date.now()): string[][] {
  return infos.map((info) => [
    info.id,
    String(info.pid),
    info.tag ?? '',
    status(info),
    `${formatDuration(now - info.startedAt.getTime())} ago`,
    `${info.pty ? '[tty] ' : ''}${info.cmd.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ')}`,
  ]);
}

function wireOf(info: ProcessInfo): Record<string, unknown> {
  return {
    id: info.id,
    pid: info.pid,
    ...(info.tag === undefined ? {} : { tag: info.tag }),
    cmd: info.cmd,
    pty: info.pty,
    stdin: info.stdin,
    started_at: info.startedAt.toISOString(),
    running: info.running,
    ...(info.exitCode === undefined ? {} : { exit_code: info.exitCode }),
    ...(info.endedAt === undefined ? {} : { ended_at: info.endedAt.toISOString() }),
    timed_out: info.timedOut,
    output_dropped: info.outputDropped,
  };
}

/** Follows a process's output to stdout/stderr until it exits (or the CLI is interrupted: it then detaches). */
export async function followOutput(
  sandbox: Sandbox,
  processId: string,
  replay: boolean,
): Promise<number | undefined> {
  const reader = await sandbox.processes.attach(processId, { replay });
  let detached = false;
  const onSigint = () => {
    detached = true;
    reader.close();
  };
  process.once('SIGINT', onSigint);
  try {
    for await (const event of reader) {
      if (event.type === 'stdout' || event.type === 'pty') await writeOut(process.stdout, event.data);
      else if (event.type === 'stderr') await writeOut(process.stderr, event.data);
      else if (event.type === 'dropped')
        process.stderr.write(
          `burrow: ${event.bytes} bytes of ${event.stream} were dropped (the buffer was full)\n`,
        );
      else return event.exitCode;
    }
    return undefined;
  } catch (error) {
    // Ctrl-C closed the reader on purpose; the process runs on.
    if (detached) return undefined;
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerProcesses(program: Command): void {
  program
    .command('ps')
    .description('list the background processes of a sandbox (running, and the last 64 exited)')
    .argument('<id>', 'sandbox id')
    .option('--json', 'print the API JSON array')
    .option('-q, --quiet', 'print only process ids')
    .addHelpText(
      'after',
      `
Examples:
  burrow ps $ID
  burrow ps $ID --json | jq -r '.[] | select(.running) | .id'`,
    )
    .action(async (id: string, flags: { json?: boolean; quiet?: boolean }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      const infos = (await sandbox.processes.list()).sort(
        (a, b) => a.startedAt.getTime() - b.startedAt.getTime(),
      );
      if (flags.json === true) printJson(infos.map(wireOf));
      else if (flags.quiet === true) process.stdout.write(infos.map((info) => `${info.id}\n`).join(''));
      else
        process.stdout.write(
          formatTable(['ID', 'PID', 'TAG', 'STATUS', 'STARTED', 'COMMAND'], processRows(infos)),
        );
    });

  program
    .command('logs')
    .description("print a background process's output (what its buffer holds), or follow it with -f")
    .argument('<id>', 'sandbox id')
    .argument('<proc>', 'process id (proc_...) or tag')
    .option('-f, --follow', 'keep printing new output until the process exits (Ctrl-C stops following)')
    .addHelpText(
      'after',
      `
A process keeps the last 1 MiB of each of stdout and stderr (processes.output_buffer_bytes on the server);
older output is gone, and logs says so on stderr.

Examples:
  burrow logs $ID web
  burrow logs -f $ID proc_0a1b2c3d4e5f6a7b`,
    )
    .action(async (id: string, ref: string, flags: { follow?: boolean }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      const info = await resolveProcess(sandbox, ref);
      if (flags.follow === true) {
        if (info.outputDropped.stdout + info.outputDropped.stderr > 0)
          process.stderr.write('burrow: earlier output was dropped (the buffer keeps the most recent)\n');
        await followOutput(sandbox, info.id, true);
        return;
      }
      const output = await sandbox.processes.output(info.id);
      if (output.stdoutTruncated || output.stderrTruncated)
        process.stderr.write('burrow: earlier output was dropped (the buffer keeps the most recent)\n');
      await writeOut(process.stdout, output.stdout);
      await writeOut(process.stderr, output.stderr);
    });

  program
    .command('kill')
    .description('kill a background process and everything it started, or send it a signal')
    .argument('<id>', 'sandbox id')
    .argument('<proc>', 'process id (proc_...) or tag')
    .option('-s, --signal <name>', 'send this signal instead (TERM, INT, HUP, ...)')
    .addHelpText(
      'after',
      `
Without --signal the process and its whole tree are killed (SIGKILL) and its exit code printed.

Examples:
  burrow kill $ID web
  burrow kill -s INT $ID proc_0a1b2c3d4e5f6a7b`,
    )
    .action(async (id: string, ref: string, flags: { signal?: string }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      const info = await resolveProcess(sandbox, ref);
      if (flags.signal !== undefined) {
        if (flags.signal.trim() === '') throw new UsageError('--signal needs a name, e.g. TERM');
        await sandbox.processes.signal(info.id, flags.signal);
        return;
      }
      const killed = await sandbox.processes.kill(info.id);
      process.stdout.write(`${killed.id} exited (${killed.exitCode ?? '?'})\n`);
    });
}
