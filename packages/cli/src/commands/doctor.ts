import { Option, type Command } from 'commander';
import { serveFlags } from './serve.js';

/** The check ids, repeated so that `--help` does not load the server package (a unit test keeps them equal). */
export const DOCTOR_CHECKS = [
  'docker',
  'cgroup',
  'agent',
  'runsc',
  'disk-quota',
  'fuse',
  'memory',
  'disk',
  'data-dir',
  'port',
  'image',
] as const;

interface DoctorFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  config?: string;
  runtime: string;
  skip?: string[];
  only?: string[];
  json?: boolean;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check this host for burrow serve: one line each, what works and what to do about what does not',
    )
    .option('--host <address>', 'the address serve would listen on (default 127.0.0.1)')
    .option('--port <port>', 'the port serve would listen on (default 8080)')
    .option('--data-dir <dir>', "serve's data directory (default ~/.burrow)")
    .option('--config <file>', 'the YAML config file serve would read')
    .option('--runtime <name>', 'the gVisor runtime name to look for in Docker', 'runsc')
    .addOption(new Option('--skip <check...>', 'leave these checks out').choices(DOCTOR_CHECKS))
    .addOption(new Option('--only <check...>', 'run only these checks').choices(DOCTOR_CHECKS))
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
Checks: docker (reachable, version, API), cgroup (version, layout, limits), agent (binary, transport),
runsc (gVisor registered and running a container), disk-quota (disk_limit), fuse (S3 FUSE mounts), memory,
disk, data-dir (permissions), port (free), image (the default sandbox image).
docker, agent, data-dir and port are required: burrow serve runs them at start and refuses to start when one
fails; doctor then exits 1. The others are warnings about optional features.

Examples:
  burrow doctor
  burrow doctor --port 9090 --data-dir /srv/burrow
  burrow doctor --only docker runsc --json`,
    )
    .action(async (flags: DoctorFlags) => {
      const { formatDoctor, loadConfig, requiredFailures, runDoctor } = await import('@burrow/server');
      const config = loadConfig({
        ...(flags.config === undefined ? {} : { file: flags.config }),
        flags: serveFlags(flags),
        warn: (message) => process.stderr.write(`burrow: config: ${message}\n`),
      });
      const results = await runDoctor({
        config,
        gvisorRuntime: flags.runtime,
        ...(flags.skip === undefined ? {} : { skip: flags.skip as (typeof DOCTOR_CHECKS)[number][] }),
        ...(flags.only === undefined ? {} : { only: flags.only as (typeof DOCTOR_CHECKS)[number][] }),
      });
      if (flags.json === true) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else process.stdout.write(`${formatDoctor(results)}\n`);
      process.exitCode = requiredFailures(results).length > 0 ? 1 : 0;
    });
}
