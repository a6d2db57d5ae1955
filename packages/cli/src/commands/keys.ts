/**
 * `burrow keys create|ls|revoke` and `burrow audit`, on the server host: they open the data directory's state file
 * directly (as the user who runs the server), so they work whether or not the server runs, and a revocation takes
 * effect on the key's next request. Remote administration is the admin API (/api/v1/keys, /api/v1/audit).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { printJson } from '../client.js';
import { formatDuration, formatTable, parseDurationSeconds, parsePositiveInt } from '../parse.js';
import { serveFlags } from './serve.js';

interface StateFlags {
  config?: string;
  dataDir?: string;
}

interface CreateFlags extends StateFlags {
  name: string;
  tenant?: string;
  admin?: boolean;
  expires?: string;
  e2b?: boolean;
  json?: boolean;
}

interface AuditFlags extends StateFlags {
  sandbox?: string;
  key?: string;
  tenant?: string;
  action?: string;
  since?: string;
  limit: number;
  json?: boolean;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** Opens the state file serve would use (same --config, --data-dir and BURROW_* settings). */
async function openAdmin(flags: StateFlags) {
  const { loadConfig, openLocalAdmin } = await import('@burrow/server');
  const config = loadConfig({
    ...(flags.config === undefined ? {} : { file: flags.config }),
    flags: serveFlags(flags),
    warn: (message) => process.stderr.write(`burrow: config: ${message}\n`),
  });
  return openLocalAdmin(config, currentUser());
}

async function withAdmin<T>(flags: StateFlags, work: (admin: Awaited<ReturnType<typeof openAdmin>>) => T) {
  const admin = await openAdmin(flags);
  try {
    return admin.run(() => work(admin));
  } finally {
    admin.close();
  }
}

function stateOptions(command: Command): Command {
  return command
    .option('--config <file>', "the server's YAML config file (for its data_dir and store.path)")
    .option('--data-dir <dir>', "the server's data directory (default ~/.burrow)");
}

/** `1h ago`, `in 3d`, `never`. */
function when(date: string | undefined, now: number, never = '-'): string {
  if (date === undefined) return never;
  const ms = Date.parse(date) - now;
  return ms >= 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`;
}

/** Parses `--since`: a duration back from now (`1h`, `2d`) or an RFC 3339 time. */
export function parseSince(value: string, now: number = Date.now()): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const at = new Date(value);
    if (!Number.isNaN(at.getTime())) return at;
  }
  return new Date(now - parseDurationSeconds(value) * 1000);
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('API keys kept by the server (on the server host): create, list, revoke')
    .addHelpText(
      'after',
      `
Keys belong to a tenant (default: the key's name): a tenant's keys see only its own sandboxes and snapshots, and
its quotas apply (config: tenancy). --admin keys, like the config file's auth.api_keys, see everything. A key is
shown once; the server keeps only its SHA-256. A revoked key fails from its next request, no restart needed.

Examples:
  burrow keys create --name alice
  burrow keys create --name ci --tenant alice --expires 30d
  burrow keys create --name e2b-agent --e2b
  burrow keys ls
  burrow keys revoke alice`,
    );

  stateOptions(
    keys
      .command('create')
      .description('create a key and print it (once: store it now)')
      .requiredOption(
        '--name <name>',
        'unique name (letters, digits, . _ -), shown in listings and the audit log',
      )
      .option('--tenant <tenant>', "the tenant its sandboxes belong to (default: the key's name)")
      .option('--admin', 'an admin key: sees and manages every tenant, and the admin API')
      .option('--expires <duration>', 'stops working after this long, e.g. 12h, 30d (default: never)')
      .option('--e2b', "E2B's shape (e2b_ and 40 hex digits), for clients of the E2B-compatible endpoint")
      .option('--json', 'print the key and its record as JSON'),
  ).action(async (flags: CreateFlags) => {
    const expiresInMs = flags.expires === undefined ? undefined : parseDurationSeconds(flags.expires) * 1000;
    const { keyToWire } = await import('@burrow/server');
    const created = await withAdmin(flags, (admin) =>
      admin.keys.create({
        name: flags.name,
        tenant: flags.tenant,
        admin: flags.admin === true,
        expiresInMs,
        format: flags.e2b === true ? 'e2b' : 'burrow',
        createdBy: `cli:${currentUser()}`,
      }),
    );
    if (flags.json === true) {
      printJson({ ...keyToWire(created.record), key: created.key });
      return;
    }
    const { record } = created;
    const scope = record.admin ? 'admin' : `tenant ${record.tenant}`;
    process.stderr.write(
      `burrow: key ${record.name} (${record.id}, ${scope}) created; it is not shown again\n`,
    );
    process.stdout.write(`${created.key}\n`);
  });

  stateOptions(
    keys
      .command('ls')
      .alias('list')
      .description('list keys: name, tenant, prefix, created, last used, expiry (revoked ones with --all)')
      .option('--all', 'include revoked keys')
      .option('--json', 'print the records as JSON'),
  ).action(async (flags: StateFlags & { all?: boolean; json?: boolean }) => {
    const { keyToWire } = await import('@burrow/server');
    const records = (await withAdmin(flags, (admin) => admin.keys.list())).map(keyToWire);
    const shown = flags.all === true ? records : records.filter((record) => record.revoked_at === undefined);
    if (flags.json === true) {
      printJson(shown);
      return;
    }
    const now = Date.now();
    process.stdout.write(
      formatTable(
        ['ID', 'NAME', 'TENANT', 'ROLE', 'PREFIX', 'CREATED', 'LAST USED', 'EXPIRES', 'STATE'],
        shown.map((record) => [
          record.id,
          record.name,
          record.tenant === '' ? '-' : record.tenant,
          record.admin ? 'admin' : 'tenant',
          `${record.prefix}…`,
          when(record.created_at, now),
          when(record.last_used_at, now, 'never'),
          when(record.expires_at, now, 'never'),
          record.revoked_at !== undefined
            ? 'revoked'
            : record.expires_at !== undefined && Date.parse(record.expires_at) <= now
              ? 'expired'
              : 'active',
        ]),
      ),
    );
  });

  stateOptions(
    keys
      .command('revoke')
      .description('revoke a key by id or name: it fails from its next request')
      .argument('<key>', 'the id (key_...) or name of a key'),
  ).action(async (idOrName: string, flags: StateFlags) => {
    const record = await withAdmin(flags, (admin) => admin.keys.revoke(idOrName));
    process.stderr.write(`burrow: key ${record.name} (${record.id}) revoked\n`);
  });
}

export function registerAudit(program: Command): void {
  stateOptions(
    program
      .command('audit')
      .description('the audit log (on the server host): who did what to which sandbox, when, from where')
      .option('--sandbox <id>', 'entries of one sandbox')
      .option('--key <name>', 'entries of one key (its name; cli:<user> for this command)')
      .option('--tenant <tenant>', 'entries of one tenant')
      .option('--action <action>', 'one action, e.g. exec, file.write, sandbox.destroy, key.revoke')
      .option('--since <when>', 'newer than a duration ago (1h, 2d) or an RFC 3339 time')
      .option('--limit <n>', 'most entries, newest first (default 100)', parsePositiveInt, 100)
      .option('--json', 'print the entries as JSON')
      .addHelpText(
        'after',
        `
Entries hold the key's name, the action, the sandbox, the outcome (ok or an error code), the client address and
what was done (exec argv, file paths): never env values, stdin or file contents. They are kept for audit.retention
(default 90 days). Admin keys read the same log over the API: GET /api/v1/audit.

Examples:
  burrow audit --since 1h
  burrow audit --sandbox $ID
  burrow audit --key alice --action exec --json`,
      ),
  ).action(async (flags: AuditFlags) => {
    const { auditToWire } = await import('@burrow/server');
    const entries = (
      await withAdmin(flags, (admin) =>
        admin.auditor.list({
          limit: flags.limit,
          ...(flags.sandbox === undefined ? {} : { sandboxId: flags.sandbox }),
          ...(flags.key === undefined ? {} : { keyName: flags.key }),
          ...(flags.tenant === undefined ? {} : { tenant: flags.tenant }),
          ...(flags.action === undefined ? {} : { action: flags.action }),
          ...(flags.since === undefined ? {} : { since: parseSince(flags.since) }),
        }),
      )
    ).map(auditToWire);
    if (flags.json === true) {
      printJson(entries);
      return;
    }
    process.stdout.write(
      formatTable(
        ['TIME', 'KEY', 'TENANT', 'ACTION', 'SANDBOX', 'OUTCOME', 'FROM', 'DETAIL'],
        entries.map((entry) => [
          entry.at,
          entry.key_name,
          entry.tenant === '' ? '-' : entry.tenant,
          entry.action,
          entry.sandbox_id ?? '-',
          entry.outcome,
          entry.address ?? '-',
          entry.detail === undefined ? '' : JSON.stringify(entry.detail),
        ]),
      ),
    );
  });
}
