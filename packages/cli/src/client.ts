/** What the client verbs share: the global options, the SDK client they build, and exit codes for failures. */
import { Option, type Command } from 'commander';
import { Burrow, ConnectionError, NotFoundError } from '@burrow/sdk';

/** Exit codes scripts can rely on (`exec` exits with the remote command's code instead). */
export const EXIT = { ok: 0, error: 1, usage: 2, notFound: 3, connection: 4 } as const;

/** A mistake in how the command was called (exit code 2). */
export class UsageError extends Error {}

interface GlobalOptions {
  server?: string;
  apiKey?: string;
}

/** `--server` and `--api-key`, accepted before or after the verb. */
export function addGlobalOptions(program: Command): void {
  program
    .addOption(
      new Option('--server <url>', 'Burrow server URL (default http://127.0.0.1:8080)').env('BURROW_URL'),
    )
    .addOption(new Option('--api-key <key>', 'API key sent as X-API-Key').env('BURROW_API_KEY'));
}

/** The SDK client for a verb, from the global options (the SDK falls back on the environment itself). */
export function clientFor(command: Command): Burrow {
  const options = command.optsWithGlobals<GlobalOptions>();
  return new Burrow({ url: options.server, apiKey: options.apiKey });
}

/** The exit code for a failure. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof NotFoundError) return EXIT.notFound;
  // The server package's own errors (verbs that open the state file directly, e.g. burrow keys revoke).
  if (error instanceof Error && (error as { status?: unknown }).status === 404) return EXIT.notFound;
  if (error instanceof ConnectionError) return EXIT.connection;
  return EXIT.error;
}

/** Writes JSON to stdout, two-space indented. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
