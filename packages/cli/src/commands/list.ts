import type { Command } from 'commander';
import { sandboxToWire, type SandboxInfo } from '@burrow/sdk';
import { clientFor, printJson } from '../client.js';
import { formatDuration, formatTable } from '../parse.js';

/** The `ls` table rows: ID IMAGE STATUS AGE EXPIRES. */
export function sandboxRows(infos: SandboxInfo[], now: number = Date.now()): string[][] {
  return infos.map((info) => [
    info.id,
    info.image,
    info.status,
    formatDuration(now - info.createdAt.getTime()),
    info.expiresAt === null
      ? 'never'
      : info.expiresAt.getTime() <= now
        ? 'now'
        : `in ${formatDuration(info.expiresAt.getTime() - now)}`,
  ]);
}

function describe(info: SandboxInfo, now: number = Date.now()): string {
  const lines: [string, string][] = [
    ['ID', info.id],
    ['Image', info.image],
    ['Status', info.status + (info.error === undefined ? '' : ` (${info.error})`)],
    ['Created', `${info.createdAt.toISOString()} (${formatDuration(now - info.createdAt.getTime())} ago)`],
    ['Expires', info.expiresAt === null ? 'never' : info.expiresAt.toISOString()],
  ];
  if (info.networkMode !== undefined) lines.push(['Network', info.networkMode]);
  if (info.runtime !== undefined) lines.push(['Runtime', info.runtime]);
  if (info.ip !== undefined) lines.push(['IP', info.ip]);
  if (info.ports.length > 0) {
    lines.push([
      'Ports',
      info.ports
        .map((port) => `127.0.0.1:${port.hostPort}->${port.sandboxPort}/${port.protocol ?? 'tcp'}`)
        .join(', '),
    ]);
  }
  const labels = Object.entries(info.labels);
  if (labels.length > 0) lines.push(['Labels', labels.map(([key, value]) => `${key}=${value}`).join(', ')]);
  if (info.exitCode !== undefined) lines.push(['Exit code', String(info.exitCode)]);
  if (info.pausedAt !== undefined) lines.push(['Paused', info.pausedAt.toISOString()]);
  if (info.lastActivityAt !== undefined) lines.push(['Last used', info.lastActivityAt.toISOString()]);
  return lines.map(([key, value]) => `${`${key}:`.padEnd(10)} ${value}`).join('\n') + '\n';
}

export function registerList(program: Command): void {
  program
    .command('ls')
    .alias('list')
    .description('list sandboxes')
    .option('--json', 'print the API JSON array')
    .option('-q, --quiet', 'print only ids')
    .addHelpText(
      'after',
      `
Examples:
  burrow ls
  burrow ls --json | jq -r '.[] | select(.status == "stopped") | .id'
  burrow rm $(burrow ls -q)`,
    )
    .action(async (flags: { json?: boolean; quiet?: boolean }, command: Command) => {
      const infos = (await clientFor(command).list()).map((sandbox) => sandbox.info);
      infos.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      if (flags.json === true) printJson(infos.map(sandboxToWire));
      else if (flags.quiet === true) process.stdout.write(infos.map((info) => `${info.id}\n`).join(''));
      else process.stdout.write(formatTable(['ID', 'IMAGE', 'STATUS', 'AGE', 'EXPIRES'], sandboxRows(infos)));
    });

  program
    .command('info')
    .description('show one sandbox')
    .argument('<id>', 'sandbox id')
    .option('--json', 'print the API JSON object')
    .addHelpText(
      'after',
      `
Examples:
  burrow info d6jcj6a9qf76oti2r2sg
  burrow info d6jcj6a9qf76oti2r2sg --json | jq -r .status`,
    )
    .action(async (id: string, flags: { json?: boolean }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      if (flags.json === true) printJson(sandboxToWire(sandbox.info));
      else process.stdout.write(describe(sandbox.info));
    });
}
