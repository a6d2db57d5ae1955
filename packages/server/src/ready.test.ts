import { describe, expect, it } from 'vitest';
import { readyLogFields, renderReadyBlock, type ReadyFacts } from './ready.js';

const base: ReadyFacts = {
  version: '0.1.0',
  url: 'http://127.0.0.1:8080',
  listen: '127.0.0.1:8080',
  auth: { enabled: false, keys: 0 },
  tryCommand: 'BURROW_URL=http://127.0.0.1:8080 node /opt/burrow/examples/quickstart.mjs',
};

describe('the ready block', () => {
  it('says where the API is, that auth is off and how to turn it on, the MCP line and a command to try', () => {
    expect(renderReadyBlock(base)).toBe(
      [
        'Burrow 0.1.0 is ready on 127.0.0.1:8080',
        '  API   http://127.0.0.1:8080/api/v1  (OpenAPI: http://127.0.0.1:8080/api/v1/openapi.json)',
        '  Auth  off: anyone who can reach this address can run commands in sandboxes',
        '        to require a key: BURROW_AUTH__ENABLED=true BURROW_AUTH__API_KEYS=<key> burrow serve (docs/operate.md)',
        '  MCP   claude mcp add --transport http burrow http://127.0.0.1:8080/mcp',
        '  Try   BURROW_URL=http://127.0.0.1:8080 node /opt/burrow/examples/quickstart.mjs',
        '',
      ].join('\n'),
    );
  });

  it('shows the facts later features supply (dashboard, E2B exports) and the key header when auth is on', () => {
    const text = renderReadyBlock({
      ...base,
      auth: { enabled: true, keys: 2 },
      dashboardUrl: 'http://127.0.0.1:8080/',
      e2bExports: ['export E2B_API_URL=http://127.0.0.1:8080/e2b', 'export E2B_API_KEY=<key>'],
    });
    expect(text).toContain('  Dashboard  http://127.0.0.1:8080/\n');
    expect(text).toContain('  Auth       on (2 keys): clients send X-API-Key\n');
    expect(text).toContain(
      '  MCP        claude mcp add --transport http burrow http://127.0.0.1:8080/mcp --header "X-API-Key: $BURROW_API_KEY"\n',
    );
    expect(text).toContain(
      '  E2B        export E2B_API_URL=http://127.0.0.1:8080/e2b\n             export E2B_API_KEY=<key>\n',
    );
  });

  it('gives JSON logs the same facts as fields', () => {
    const fields = readyLogFields({
      ...base,
      dashboardUrl: 'http://127.0.0.1:8080/',
      e2bExports: ['export A=b'],
    });
    expect(fields).toMatchObject({
      api_url: 'http://127.0.0.1:8080/api/v1',
      openapi_url: 'http://127.0.0.1:8080/api/v1/openapi.json',
      auth_enabled: false,
      mcp_url: 'http://127.0.0.1:8080/mcp',
      mcp_claude_code: 'claude mcp add --transport http burrow http://127.0.0.1:8080/mcp',
      dashboard_url: 'http://127.0.0.1:8080/',
      e2b_env: ['export A=b'],
      try: base.tryCommand,
    });
    expect(fields.auth).toMatch(/^off: .*; to require a key: BURROW_AUTH__ENABLED=true/);
    expect(readyLogFields(base)).not.toHaveProperty('dashboard_url');
  });
});
