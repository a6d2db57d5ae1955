import type { Command } from 'commander';
import type { SnapshotInfo } from '@burrow/sdk';
import { clientFor, printJson } from '../client.js';
import { formatBytes, formatTable } from '../parse.js';

function snapshotJson(snapshot: SnapshotInfo): Record<string, unknown> {
  return {
    id: snapshot.id,
    sandbox_id: snapshot.sandboxId,
    name: snapshot.name,
    image_id: snapshot.imageId,
    created_at: snapshot.createdAt.toISOString(),
    size: snapshot.size,
  };
}

export function registerSnapshot(program: Command): void {
  const snapshot = program
    .command('snapshot')
    .description('create, list, restore and delete snapshots')
    .addHelpText(
      'after',
      `
Examples:
  SNAP=$(burrow snapshot create $ID --name after-setup)
  burrow snapshot ls $ID
  NEW=$(burrow snapshot restore $SNAP)
  burrow snapshot rm $SNAP`,
    );

  snapshot
    .command('create')
    .description('snapshot a sandbox (its files, including /tmp and /home/sandbox); prints the snapshot id')
    .argument('<id>', 'sandbox id')
    .option('--name <name>', 'a name for the snapshot')
    .addHelpText('after', '\nExample:\n  burrow snapshot create $ID --name deps-installed')
    .action(async (id: string, flags: { name?: string }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      const created = await sandbox.snapshots.create(flags.name ?? '');
      process.stdout.write(`${created.id}\n`);
    });

  snapshot
    .command('ls')
    .alias('list')
    .description("list a sandbox's snapshots")
    .argument('<id>', 'sandbox id')
    .option('--json', 'print the API JSON array')
    .addHelpText('after', '\nExample:\n  burrow snapshot ls $ID --json')
    .action(async (id: string, flags: { json?: boolean }, command: Command) => {
      const list = await (await clientFor(command).get(id)).snapshots.list();
      if (flags.json === true) {
        printJson(list.map(snapshotJson));
        return;
      }
      const rows = list.map((item) => [
        item.id,
        item.name,
        item.createdAt.toISOString(),
        formatBytes(item.size),
      ]);
      process.stdout.write(formatTable(['ID', 'NAME', 'CREATED', 'SIZE'], rows));
    });

  snapshot
    .command('restore')
    .description('start a new sandbox from a snapshot; prints the new sandbox id')
    .argument('<snapshot>', 'snapshot id')
    .addHelpText('after', '\nExample:\n  burrow snapshot restore snap-d6jcj6a9qf76oti2r2sg')
    .action(async (snapshotId: string, _flags: unknown, command: Command) => {
      const sandbox = await clientFor(command).snapshots.restore(snapshotId);
      process.stdout.write(`${sandbox.id}\n`);
    });

  snapshot
    .command('rm')
    .description('delete snapshots')
    .argument('<snapshot...>', 'snapshot ids')
    .addHelpText('after', '\nExample:\n  burrow snapshot rm snap-d6jcj6a9qf76oti2r2sg')
    .action(async (ids: string[], _flags: unknown, command: Command) => {
      const burrow = clientFor(command);
      for (const id of ids) {
        await burrow.snapshots.delete(id);
        process.stdout.write(`${id}\n`);
      }
    });
}
