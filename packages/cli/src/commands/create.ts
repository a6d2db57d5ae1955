import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CreateSandboxOptions, IsolationRuntime, NetworkMode } from '@burrow/sdk';
import { clientFor } from '../client.js';
import { collectKeyValue, parseCpus, parseDurationSeconds, parseSize } from '../parse.js';

interface CreateFlags {
  image?: string;
  timeout?: number;
  cpu?: number;
  memory?: number;
  env?: Record<string, string>;
  network?: NetworkMode;
  runtime?: IsolationRuntime;
  label?: Record<string, string>;
  workdir?: string;
  writableRootfs?: boolean;
  allowDomain?: string[];
  deny?: string[];
  publicPort?: number[];
}

/** Repeatable list options (`--allow-domain a --allow-domain b`, or `--allow-domain a,b`). */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  ];
}

function collectPort(value: string, previous: number[] = []): number[] {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`"${value}" is not a TCP port (1-65535)`);
  }
  return [...previous, port];
}

/** The SDK options a `create` command line asks for. */
export function createOptions(flags: CreateFlags): CreateSandboxOptions {
  const options: CreateSandboxOptions = {};
  if (flags.image !== undefined) options.image = flags.image;
  if (flags.timeout !== undefined) options.timeoutSeconds = flags.timeout;
  if (flags.cpu !== undefined) options.cpus = flags.cpu;
  if (flags.memory !== undefined) options.memoryBytes = flags.memory;
  if (flags.env !== undefined) options.env = flags.env;
  if (flags.network !== undefined) options.networkMode = flags.network;
  if (flags.runtime !== undefined) options.runtime = flags.runtime;
  if (flags.label !== undefined) options.labels = flags.label;
  if (flags.workdir !== undefined) options.workdir = flags.workdir;
  if (flags.writableRootfs === true) options.writableRootfs = true;
  if (flags.allowDomain !== undefined || flags.deny !== undefined) {
    options.egress = { allow: flags.allowDomain ?? [], deny: flags.deny ?? [] };
  }
  if (flags.publicPort !== undefined) options.publicPorts = flags.publicPort;
  return options;
}

export function registerCreate(program: Command): void {
  program
    .command('create')
    .description('create a sandbox and print its id')
    .option('--image <image>', 'image to run (default: the server default image)')
    .option(
      '--timeout <duration>',
      'lifetime, e.g. 600, 30m, 2h (default: the server default)',
      parseDurationSeconds,
    )
    .option('--cpu <cores>', 'CPU limit in cores, e.g. 0.5 or 2', parseCpus)
    .option('--memory <size>', 'memory limit, e.g. 512m, 2g', parseSize)
    .option('--env <KEY=VALUE>', 'environment variable (repeatable)', collectKeyValue)
    .addOption(new Option('--network <mode>', 'network mode').choices(['none', 'internal', 'bridge']))
    .addOption(
      new Option(
        '--runtime <runtime>',
        'isolation: runc (a container) or gvisor (a second, user-space kernel)',
      ).choices(['runc', 'gvisor']),
    )
    .option('--label <KEY=VALUE>', 'label (repeatable)', collectKeyValue)
    .option('--workdir <dir>', 'working directory of commands')
    .option('--writable-rootfs', 'make the root filesystem writable (read-only by default)')
    .option(
      '--allow-domain <destination>',
      'egress allowlist entry: example.com, *.example.com, an address or a CIDR (repeatable; network bridge)',
      collectList,
    )
    .option(
      '--deny <destination>',
      'egress deny entry, same forms; deny wins over allow (repeatable)',
      collectList,
    )
    .option('--public-port <port>', 'a port whose preview URL needs no token (repeatable)', collectPort)
    .addHelpText(
      'after',
      `
Examples:
  burrow create
  burrow create --image burrow-test/debian:latest --timeout 1h --memory 1g --cpu 2
  ID=$(burrow create --network none --env MODE=test --label owner=ci)
  burrow create --runtime gvisor        # untrusted code: a second kernel between it and the host's
  burrow create --network bridge --allow-domain pypi.org --allow-domain '*.pythonhosted.org'
                                        # egress only to these, through Burrow's egress proxy`,
    )
    .action(async (flags: CreateFlags, command: Command) => {
      const sandbox = await clientFor(command).create(createOptions(flags));
      process.stdout.write(`${sandbox.id}\n`);
    });
}
