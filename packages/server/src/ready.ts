/**
 * What `burrow serve` says once it is ready: a short block a person can act on (text logs), or the same facts as
 * log fields (JSON logs). Facts that only some servers have (a dashboard, the E2B-compatible endpoint) are optional:
 * whoever adds such a feature supplies its fact, and the block shows it.
 */

export interface ReadyFacts {
  version: string;
  /** Where clients reach the server, e.g. http://127.0.0.1:8080 (loopback when it listens on every address). */
  url: string;
  /** The address it listens on, as configured (e.g. 0.0.0.0). */
  listen: string;
  auth: { enabled: boolean; keys: number };
  dashboardUrl?: string;
  /** `export NAME=value` lines that point E2B clients at this server. */
  e2bExports?: string[];
  /** A command that exercises the server end to end; absent when none fits this installation. */
  tryCommand?: string;
}

interface ReadyLine {
  label: string;
  text: string;
  /** Several lines (printed one under the other). */
  more?: string[];
}

function mcpCommand(facts: ReadyFacts): string {
  const header = facts.auth.enabled ? ' --header "X-API-Key: $BURROW_API_KEY"' : '';
  return `claude mcp add --transport http burrow ${facts.url}/mcp${header}`;
}

/** What auth is, and the step a person takes next. */
function authText(facts: ReadyFacts): [string, string] {
  if (facts.auth.enabled) {
    const keys = `${facts.auth.keys} key${facts.auth.keys === 1 ? '' : 's'}`;
    return [`on (${keys}): clients send X-API-Key`, 'the CLI, SDK and MCP read BURROW_API_KEY'];
  }
  return [
    'off: anyone who can reach this address can run commands in sandboxes',
    'to require a key: BURROW_AUTH__ENABLED=true BURROW_AUTH__API_KEYS=<key> burrow serve (docs/operate.md)',
  ];
}

function readyLines(facts: ReadyFacts): ReadyLine[] {
  const lines: ReadyLine[] = [
    { label: 'API', text: `${facts.url}/api/v1  (OpenAPI: ${facts.url}/api/v1/openapi.json)` },
  ];
  if (facts.dashboardUrl !== undefined) lines.push({ label: 'Dashboard', text: facts.dashboardUrl });
  const [auth, next] = authText(facts);
  lines.push({ label: 'Auth', text: auth, more: [next] });
  lines.push({ label: 'MCP', text: mcpCommand(facts) });
  const e2b = facts.e2bExports ?? [];
  if (e2b.length > 0) lines.push({ label: 'E2B', text: e2b[0] ?? '', more: e2b.slice(1) });
  if (facts.tryCommand !== undefined) lines.push({ label: 'Try', text: facts.tryCommand });
  return lines;
}

/** The block printed on a terminal (or to a text log). */
export function renderReadyBlock(facts: ReadyFacts): string {
  const width = Math.max(...readyLines(facts).map((line) => line.label.length)) + 2;
  const body = readyLines(facts).flatMap((line) => [
    `  ${line.label.padEnd(width)}${line.text}`,
    ...(line.more ?? []).map((text) => `  ${''.padEnd(width)}${text}`),
  ]);
  return [`Burrow ${facts.version} is ready on ${facts.listen}`, ...body, ''].join('\n');
}

/** The same facts as structured log fields. */
export function readyLogFields(facts: ReadyFacts): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    version: facts.version,
    url: facts.url,
    listen: facts.listen,
    api_url: `${facts.url}/api/v1`,
    openapi_url: `${facts.url}/api/v1/openapi.json`,
    auth_enabled: facts.auth.enabled,
    auth_keys: facts.auth.keys,
    auth: authText(facts).join('; '),
    mcp_url: `${facts.url}/mcp`,
    mcp_claude_code: mcpCommand(facts),
  };
  if (facts.dashboardUrl !== undefined) fields.dashboard_url = facts.dashboardUrl;
  if (facts.e2bExports !== undefined && facts.e2bExports.length > 0) fields.e2b_env = facts.e2bExports;
  if (facts.tryCommand !== undefined) fields.try = facts.tryCommand;
  return fields;
}
