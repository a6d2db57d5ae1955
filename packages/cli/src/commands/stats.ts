import type { Command } from 'commander';
import type { Sandbox, SandboxStats } from '@burrow/sdk';
import { clientFor, printJson } from '../client.js';
import { formatBytes } from '../parse.js';

const WATCH_INTERVAL_MS = 2000;

export function statsJson(stats: SandboxStats): Record<string, unknown> {
  return {
    cpu_percent: stats.cpuPercent,
    memory_usage: stats.memoryUsage,
    memory_limit: stats.memoryLimit,
    memory_percent: stats.memoryPercent,
    network_rx: stats.networkRx,
    network_tx: stats.networkTx,
    disk_read: stats.diskRead,
    disk_write: stats.diskWrite,
    pid_count: stats.pidCount,
    timestamp: stats.timestamp.toISOString(),
  };
}

export function formatStats(id: string, stats: SandboxStats): string {
  const rows: [string, string][] = [
    ['CPU', `${stats.cpuPercent.toFixed(1)}%`],
    [
      'Memory',
      `${formatBytes(stats.memoryUsage)} / ${formatBytes(stats.memoryLimit)} (${stats.memoryPercent.toFixed(1)}%)`,
    ],
    ['Processes', String(stats.pidCount)],
    ['Network', `rx ${formatBytes(stats.networkRx)}, tx ${formatBytes(stats.networkTx)}`],
    ['Disk', `read ${formatBytes(stats.diskRead)}, write ${formatBytes(stats.diskWrite)}`],
  ];
  return `${id} at ${stats.timestamp.toISOString()}\n${rows.map(([key, value]) => `  ${`${key}:`.padEnd(11)}${value}`).join('\n')}\n`;
}

async function watch(sandbox: Sandbox, json: boolean): Promise<void> {
  const tty = process.stdout.isTTY === true && !json;
  let stopped = false;
  let wake: () => void = () => undefined;
  const onSigint = () => {
    stopped = true;
    wake();
  };
  process.once('SIGINT', onSigint);
  try {
    while (!stopped) {
      const stats = await sandbox.stats();
      if (json) process.stdout.write(`${JSON.stringify(statsJson(stats))}\n`);
      else process.stdout.write(`${tty ? '\x1b[H\x1b[2J' : ''}${formatStats(sandbox.id, stats)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, WATCH_INTERVAL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description("show a sandbox's CPU, memory, network, disk and process counts")
    .argument('<id>', 'sandbox id')
    .option('-w, --watch', 'refresh every 2 seconds until Ctrl-C')
    .option('--json', 'print the API JSON (one line per sample with --watch)')
    .addHelpText(
      'after',
      `
Examples:
  burrow stats $ID
  burrow stats $ID --watch
  burrow stats $ID --json | jq .memory_usage`,
    )
    .action(async (id: string, flags: { watch?: boolean; json?: boolean }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      if (flags.watch === true) {
        await watch(sandbox, flags.json === true);
        return;
      }
      const stats = await sandbox.stats();
      if (flags.json === true) printJson(statsJson(stats));
      else process.stdout.write(formatStats(id, stats));
    });
}
