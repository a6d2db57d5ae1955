/** `burrow port <id> <port>`: the preview URL of a sandbox port (with its token), and `burrow egress <id>`. */
import { InvalidArgumentError, type Command } from 'commander';
import { clientFor } from '../client.js';
import { parseDurationSeconds } from '../parse.js';
import { collectList } from './create.js';

interface PortFlags {
  path?: boolean;
  expires?: number;
  public?: boolean;
  private?: boolean;
  publish?: number;
  unpublish?: boolean;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`"${value}" is not a TCP port (1-65535)`);
  }
  return port;
}

/** A URL carrying the preview token (the first visit turns it into a cookie). */
function tokenUrl(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('burrow_token', token);
  return parsed.toString();
}

export function registerPort(program: Command): void {
  program
    .command('port')
    .description('print the preview URL of a sandbox port (with a token when the server needs one)')
    .argument('<id>', 'sandbox id')
    .argument('<port>', 'port inside the sandbox', parsePort)
    .option('--path', 'print the path-based URL (<server>/api/v1/sandboxes/<id>/proxy/<port>/) instead')
    .option(
      '--expires <duration>',
      "token lifetime, e.g. 10m, 2h (default: the server's)",
      parseDurationSeconds,
    )
    .option('--public', 'make the preview public (no token needed) first')
    .option('--private', 'require a token again first')
    .option(
      '--publish <host-port>',
      'also publish the port on 127.0.0.1:<host-port> of the server host',
      parsePort,
    )
    .option('--unpublish', 'remove the port from the published ports instead (host or sandbox port)')
    .addHelpText(
      'after',
      `
Examples:
  burrow port $ID 8000                  # http://8000-<id>.localhost:8080/?burrow_token=...
  curl "$(burrow port $ID 8000)"        # *.localhost resolves to this machine in curl and browsers
  burrow port $ID 8000 --path           # for clients that cannot use host names
  burrow port $ID 3000 --public         # anyone who reaches the server may open it
  burrow port $ID 8000 --publish 18000  # and on http://127.0.0.1:18000 of the server host`,
    )
    .action(async (id: string, port: number, flags: PortFlags, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      if (flags.unpublish === true) {
        await sandbox.network.unpublish(port);
        return;
      }
      if (flags.public === true || flags.private === true)
        await sandbox.network.setPublic(port, flags.public === true);
      if (flags.publish !== undefined) await sandbox.network.publish(port, flags.publish);
      const preview = await sandbox.network.preview(
        port,
        flags.expires === undefined ? {} : { expiresInSeconds: flags.expires },
      );
      process.stdout.write(
        `${tokenUrl(flags.path === true ? preview.pathUrl : preview.url, preview.token)}\n`,
      );
    });

  program
    .command('egress')
    .description("show a sandbox's egress policy, or replace it (sandboxes created with one)")
    .argument('<id>', 'sandbox id')
    .option(
      '--allow-domain <destination>',
      'allowed destination (repeatable); replaces the list',
      collectList,
    )
    .option('--deny <destination>', 'denied destination (repeatable)', collectList)
    .action(async (id: string, flags: { allowDomain?: string[]; deny?: string[] }, command: Command) => {
      const sandbox = await clientFor(command).get(id);
      const state =
        flags.allowDomain === undefined && flags.deny === undefined
          ? await sandbox.network.egress()
          : await sandbox.network.setEgress({ allow: flags.allowDomain ?? [], deny: flags.deny ?? [] });
      process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
    });
}
