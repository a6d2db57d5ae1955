/** The `burrow` command: every verb registers itself on one commander program. */
import { Command, CommanderError } from 'commander';
import { addGlobalOptions, EXIT, exitCodeFor } from './client.js';
import { registerCp } from './commands/cp.js';
import { registerCreate } from './commands/create.js';
import { registerDoctor } from './commands/doctor.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerExec } from './commands/exec.js';
import { registerImage } from './commands/image.js';
import { registerAudit, registerKeys } from './commands/keys.js';
import { registerLifecycle } from './commands/lifecycle.js';
import { registerPause } from './commands/pause.js';
import { registerList } from './commands/list.js';
import { registerMcp } from './commands/mcp.js';
import { registerProcesses } from './commands/processes.js';
import { registerRun } from './commands/run.js';
import { registerPort } from './commands/port.js';
import { registerServe } from './commands/serve.js';
import { registerShell } from './commands/shell.js';
import { registerSnapshot } from './commands/snapshot.js';
import { registerStats } from './commands/stats.js';
import { registerVersion } from './commands/version.js';
import { CLI_VERSION } from './version.js';

export function buildProgram(): Command {
  const program = new Command('burrow')
    .description('Burrow: isolated Linux sandboxes for AI agents, on a machine you own')
    .version(CLI_VERSION, '-v, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  addGlobalOptions(program);
  registerServe(program);
  registerDoctor(program);
  registerMcp(program);
  registerImage(program);
  registerKeys(program);
  registerAudit(program);
  registerCreate(program);
  registerList(program);
  registerExec(program);
  registerShell(program);
  registerRun(program);
  registerProcesses(program);
  registerCp(program);
  registerLifecycle(program);
  registerPause(program);
  registerSnapshot(program);
  registerStats(program);
  registerPort(program);
  registerDashboard(program);
  registerVersion(program, CLI_VERSION);
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 error, 2 usage error, 3 not found, 4 cannot reach the server; exec, shell and run exit
with the remote command's code.

Examples:
  burrow serve
  ID=$(burrow create --timeout 30m)
  burrow exec $ID -- python3 -c 'print(6 * 7)'
  burrow shell $ID
  burrow run -d --tag web $ID -- python3 -m http.server 8000
  burrow logs -f $ID web
  burrow cp ./src $ID:/home/sandbox/
  burrow rm $ID`,
  );
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    // Commander has already printed its message (or the help).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(`burrow: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeFor(error);
  }
}
