import type { Command } from 'commander';
import type { Burrow } from '@burrow/sdk';
import { clientFor, exitCodeFor, UsageError } from '../client.js';
import { parseDurationSeconds } from '../parse.js';

/** Runs `action` for each id; reports each failure and keeps going. Resolves with the worst exit code. */
export async function forEachId(ids: string[], action: (id: string) => Promise<void>): Promise<number> {
  let worst = 0;
  for (const id of ids) {
    try {
      await action(id);
    } catch (error) {
      process.stderr.write(`burrow: ${id}: ${error instanceof Error ? error.message : String(error)}\n`);
      worst = Math.max(worst, exitCodeFor(error));
    }
  }
  return worst;
}

async function removeAll(burrow: Burrow, ids: string[], all: boolean): Promise<number> {
  if (all && ids.length > 0) throw new UsageError('give sandbox ids or --all, not both');
  if (!all && ids.length === 0) throw new UsageError('give at least one sandbox id (or --all)');
  const targets = all ? (await burrow.list()).map((sandbox) => sandbox.id) : ids;
  return forEachId(targets, async (id) => {
    await (await burrow.get(id)).destroy();
    process.stdout.write(`${id}\n`);
  });
}

export function registerLifecycle(program: Command): void {
  program
    .command('stop')
    .description('stop sandboxes (they keep their id and can be started again)')
    .argument('<id...>', 'sandbox ids')
    .addHelpText('after', '\nExample:\n  burrow stop $ID')
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      const burrow = clientFor(command);
      process.exitCode = await forEachId(ids, async (id) => {
        await (await burrow.get(id)).stop();
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('start')
    .description('start stopped sandboxes')
    .argument('<id...>', 'sandbox ids')
    .addHelpText('after', '\nExample:\n  burrow start $ID')
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      const burrow = clientFor(command);
      process.exitCode = await forEachId(ids, async (id) => {
        await (await burrow.get(id)).start();
        process.stdout.write(`${id}\n`);
      });
    });

  program
    .command('rm')
    .description('destroy sandboxes')
    .argument('[id...]', 'sandbox ids')
    .option('--all', 'destroy every sandbox on the server')
    .addHelpText(
      'after',
      `
Examples:
  burrow rm $ID
  burrow rm $ID1 $ID2
  burrow rm --all`,
    )
    .action(async (ids: string[], flags: { all?: boolean }, command: Command) => {
      process.exitCode = await removeAll(clientFor(command), ids, flags.all === true);
    });

  program
    .command('timeout')
    .description('set how long a sandbox lives from now')
    .argument('<id>', 'sandbox id')
    .argument('<duration>', 'seconds, or e.g. 30m, 2h', parseDurationSeconds)
    .addHelpText(
      'after',
      `
Examples:
  burrow timeout $ID 3600
  burrow timeout $ID 2h`,
    )
    .action(async (id: string, seconds: number, _flags: unknown, command: Command) => {
      const info = await (await clientFor(command).get(id)).setTimeout(seconds);
      process.stdout.write(
        `${id} expires at ${info.expiresAt === null ? 'never' : info.expiresAt.toISOString()}\n`,
      );
    });
}
