import type { Command } from 'commander';
import { sandboxToWire } from '@burrow/sdk';
import { clientFor, printJson, UsageError } from '../client.js';
import { forEachId } from './lifecycle.js';

function count(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new UsageError(`--count: "${value}" is not a whole number of 1 or more`);
  return parsed;
}

export function registerPause(program: Command): void {
  program
    .command('pause')
    .description(
      'freeze sandboxes: processes keep their memory and state, use no CPU (resume, exec or files continue them)',
    )
    .argument('<id...>', 'sandbox ids')
    .addHelpText('after', '\nExample:\n  burrow pause $ID')
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      const burrow = clientFor(command);
      process.exitCode = await forEachId(ids, async (id) => {
        await (await burrow.get(id)).pause();
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('resume')
    .description('continue paused sandboxes where they were')
    .argument('<id...>', 'sandbox ids')
    .addHelpText('after', '\nExample:\n  burrow resume $ID')
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      const burrow = clientFor(command);
      process.exitCode = await forEachId(ids, async (id) => {
        await (await burrow.get(id)).resume();
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('fork')
    .description(
      'copy a running sandbox (files, /tmp and /home/sandbox included, and configuration; not its processes); prints the new ids',
    )
    .argument('<id>', 'sandbox id')
    .option('-n, --count <n>', 'how many copies (1-20)', count, 1)
    .option('--json', 'print the new sandboxes as JSON')
    .addHelpText(
      'after',
      `
Processes do not carry over: each copy starts its image's command afresh. Host ports and S3 sync are not
copied (a host port binds only once).

Examples:
  burrow fork $ID
  for copy in $(burrow fork $ID -n 3); do burrow exec $copy -- ./try.sh; done`,
    )
    .action(async (id: string, flags: { count: number; json?: boolean }, command: Command) => {
      const copies = await (await clientFor(command).get(id)).fork(flags.count);
      if (flags.json === true) printJson(copies.map((copy) => sandboxToWire(copy.info)));
      else for (const copy of copies) process.stdout.write(`${copy.id}\n`);
    });
}
