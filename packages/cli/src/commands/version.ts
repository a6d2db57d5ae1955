import type { Command } from 'commander';
import { clientFor, exitCodeFor } from '../client.js';

export function registerVersion(program: Command, clientVersion: string): void {
  program
    .command('version')
    .description('print the client and server versions')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  burrow version\n  burrow version --server http://10.0.0.5:8080')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const burrow = clientFor(command);
      try {
        const server = await burrow.version();
        if (flags.json === true) {
          process.stdout.write(
            `${JSON.stringify({ client: clientVersion, server: { ...server, url: burrow.url } }, null, 2)}\n`,
          );
        } else {
          process.stdout.write(`client: burrow ${clientVersion}\n`);
          process.stdout.write(
            `server: burrow ${server.version} (commit ${server.commit}, built ${server.buildDate}) at ${burrow.url}\n`,
          );
        }
      } catch (error) {
        if (flags.json !== true) process.stdout.write(`client: burrow ${clientVersion}\n`);
        process.stderr.write(`burrow: server: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = exitCodeFor(error);
      }
    });
}
