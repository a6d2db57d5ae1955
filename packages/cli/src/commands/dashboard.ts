/**
 * `burrow dashboard`: opens the server's web dashboard in a browser (xdg-open, when there is one), or prints its
 * URL. The API key is never put into the URL: with auth on, the dashboard asks for it and keeps it for the tab.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Command } from 'commander';
import { clientFor } from '../client.js';

/** The first executable `name` on `PATH`, if any. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether `url` serves the dashboard's page (a server without the built web assets answers 404). */
async function servesDashboard(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer().catch(() => undefined);
  return response.ok && (response.headers.get('content-type') ?? '').startsWith('text/html');
}

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description("open the server's web dashboard in a browser (xdg-open), or print its URL")
    .option('--print', 'only print the URL, do not open a browser')
    .addHelpText(
      'after',
      `
The dashboard is served by burrow serve at its root URL. With auth on it asks for the API key in the page
(the key never goes into the URL). Without xdg-open (e.g. over SSH) the URL is printed: forward the port
(ssh -L 8080:127.0.0.1:8080 host) and open it locally.

Examples:
  burrow dashboard
  burrow dashboard --print --server http://127.0.0.1:9090`,
    )
    .action(async (flags: { print?: boolean }, command: Command) => {
      const burrow = clientFor(command);
      const url = `${burrow.url}/`;
      await burrow.health(); // a server that cannot be reached fails here, with exit code 4
      if (!(await servesDashboard(url))) {
        process.stderr.write(
          `burrow: ${burrow.url} serves no dashboard: its web assets were not built (npm run build)\n`,
        );
        process.exitCode = 1;
        return;
      }
      const opener = flags.print === true ? undefined : findOnPath('xdg-open');
      if (opener === undefined) {
        process.stdout.write(`${url}\n`);
        return;
      }
      spawn(opener, [url], { detached: true, stdio: 'ignore' }).unref();
      process.stdout.write(`opening ${url}\n`);
    });
}
