import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkBindSafety, describeConfig, loadConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'burrow-config-test-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('loadConfig', () => {
  it('gives safe defaults with nothing configured', () => {
    const config = loadConfig({ env: {} });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(config.auth.enabled).toBe(false);
    expect(config.sandbox.default_pid_limit).toBe(256);
    expect(config.store.path).toBe(join(config.data_dir, 'burrow.db'));
    expect(config.processes.output_buffer_bytes).toBe(1024 * 1024);
  });

  it('sizes the replay buffer of background processes, within 1 KiB to 64 MiB', () => {
    expect(
      loadConfig({ env: { BURROW_PROCESSES__OUTPUT_BUFFER_BYTES: '4m' } }).processes.output_buffer_bytes,
    ).toBe(4 * 1024 * 1024);
    expect(() => loadConfig({ env: { BURROW_PROCESSES__OUTPUT_BUFFER_BYTES: '100' } })).toThrow(
      /processes\.output_buffer_bytes/,
    );
    expect(() => loadConfig({ env: { BURROW_PROCESSES__OUTPUT_BUFFER_BYTES: '1g' } })).toThrow(
      /processes\.output_buffer_bytes/,
    );
  });

  it('layers file < env < flags', () => {
    const path = file(
      'layers.yaml',
      'server:\n  port: 7000\n  host: 127.0.0.2\nsandbox:\n  max_sandboxes: 3\n',
    );
    const config = loadConfig({
      file: path,
      env: { BURROW_SERVER__PORT: '7001', BURROW_SANDBOX__DEFAULT_TIMEOUT: '10m', BURROW_DATA_DIR: dir },
      flags: { server: { port: '7002' } },
    });
    expect(config.server.port).toBe(7002);
    expect(config.server.host).toBe('127.0.0.2');
    expect(config.sandbox.max_sandboxes).toBe(3);
    expect(config.sandbox.default_timeout).toBe(10 * 60_000);
    expect(config.data_dir).toBe(dir);
  });

  it('leaves BURROW_* variables that are not config alone, but reports a mistyped section key', () => {
    const env = {
      BURROW_URL: 'http://x',
      BURROW_API_KEY: 'k',
      BURROW_COMMIT: 'abc',
      BURROW_SETUP_SKIP_PACKAGES: '1',
    };
    expect(() => loadConfig({ env })).not.toThrow();
    expect(() => loadConfig({ env: { BURROW_SERVER__PROT: '1' } })).toThrow(/server/);
  });

  it('lists every bad key at once', () => {
    const path = file(
      'bad.yaml',
      'server:\n  port: seventy\nsandbox:\n  max_sandboxes: -1\nnonsense: true\n',
    );
    let message = '';
    try {
      loadConfig({ file: path, env: {} });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/server\.port/);
    expect(message).toMatch(/sandbox\.max_sandboxes/);
    expect(message).toMatch(/nonsense/);
  });

  it("loads Den's example config, reporting the keys it ignores, and refuses TLS it would not provide", () => {
    const den = file(
      'den.yaml',
      [
        'server:',
        '  host: 127.0.0.1',
        '  port: 8080',
        '  tls:',
        '    enabled: false',
        'runtime:',
        '  backend: docker',
        '  docker_host: ""',
        '  reconcile_network: false',
        'sandbox:',
        '  default_image: den/default:latest',
        '  allow_host_binds: false',
        'store:',
        '  path: den.db',
        'resource:',
        '  pressure_threshold: 0.75',
        '  overcommit_ratio: 10.0',
      ].join('\n'),
    );
    const warnings: string[] = [];
    const config = loadConfig({ file: den, env: {}, warn: (message) => warnings.push(message) });
    expect(config.sandbox.default_image).toBe('den/default:latest');
    expect(config.store.path).toBe(join(config.data_dir, 'den.db'));
    expect(config.resource.pressure_threshold).toBe(0.75);
    expect(warnings.map((warning) => warning.split(':')[0]).sort()).toEqual(
      [
        'resource.overcommit_ratio',
        'runtime.docker_host',
        'runtime.reconcile_network',
        'sandbox.allow_host_binds',
        'server.tls',
      ].sort(),
    );
    const tls = file('tls.yaml', 'server:\n  tls:\n    enabled: true\n');
    expect(() => loadConfig({ file: tls, env: {} })).toThrow(/TLS/);
  });

  it("takes Den's resource keys with Den's checks", () => {
    const defaults = loadConfig({ env: {} }).resource;
    expect(defaults).toMatchObject({
      pressure_threshold: 0.8,
      critical_threshold: 0.9,
      monitor_interval: 5000,
      enable_auto_throttle: true,
      min_memory_floor: 32 * 1024 * 1024,
    });
    const bad = (env: Record<string, string>) => () => loadConfig({ env });
    expect(bad({ BURROW_RESOURCE__PRESSURE_THRESHOLD: '0.9' })).toThrow(
      /pressure_threshold must be less than critical_threshold/,
    );
    expect(bad({ BURROW_RESOURCE__CRITICAL_THRESHOLD: '1' })).toThrow(
      /critical_threshold must be less than 1.0/,
    );
    expect(bad({ BURROW_RESOURCE__MONITOR_INTERVAL: '500ms' })).toThrow(
      /monitor_interval must be at least 1s/,
    );
    expect(bad({ BURROW_RESOURCE__MIN_MEMORY_FLOOR: '1m' })).toThrow(/min_memory_floor must be at least 4MB/);
  });

  it('refuses a default_timeout of 0, as Den does', () => {
    for (const value of ['0', '0s', '0m']) {
      expect(() => loadConfig({ env: { BURROW_SANDBOX__DEFAULT_TIMEOUT: value } })).toThrow(
        /sandbox\.default_timeout: default_timeout must be positive/,
      );
    }
    expect(loadConfig({ env: { BURROW_SANDBOX__DEFAULT_TIMEOUT: '1s' } }).sandbox.default_timeout).toBe(1000);
  });

  it('takes auth without config keys (stored keys may exist: serve checks), and refuses an open API beyond loopback', () => {
    expect(loadConfig({ env: { BURROW_AUTH__ENABLED: 'true' } }).auth).toEqual({
      enabled: true,
      api_keys: [],
    });
    const open = loadConfig({ env: { BURROW_SERVER__HOST: '0.0.0.0' } });
    expect(() => checkBindSafety(open)).toThrow(/--api-key/);
    const keyed = loadConfig({
      env: { BURROW_SERVER__HOST: '0.0.0.0', BURROW_AUTH__ENABLED: 'true', BURROW_AUTH__API_KEYS: 'a,b' },
    });
    expect(() => checkBindSafety(keyed)).not.toThrow();
    expect(keyed.auth.api_keys).toEqual(['a', 'b']);
    expect(JSON.stringify(describeConfig(keyed))).not.toMatch(/"a"|"b"/);
  });

  it('reads the E2B endpoint settings, templates as a map or name=image pairs, and guards its address too', () => {
    const config = loadConfig({
      env: {
        BURROW_E2B__ENABLED: 'true',
        BURROW_E2B__PORT: '0',
        BURROW_E2B__TEMPLATES: 'base=burrow-test/debian:latest, py=python:3.12',
      },
    });
    expect(config.e2b).toMatchObject({ enabled: true, host: '127.0.0.1', port: 0, writable_rootfs: true });
    expect(config.e2b.templates).toEqual({ base: 'burrow-test/debian:latest', py: 'python:3.12' });
    expect(() => loadConfig({ env: { BURROW_E2B__TEMPLATES: 'base' } })).toThrow(/template=image/);
    const exposed = loadConfig({ env: { BURROW_E2B__ENABLED: 'true', BURROW_E2B__HOST: '0.0.0.0' } });
    expect(() => checkBindSafety(exposed)).toThrow(/e2b\.host/);
    // A disabled endpoint listens nowhere, so its address does not matter.
    const disabled = loadConfig({ env: { BURROW_E2B__HOST: '0.0.0.0' } });
    expect(() => checkBindSafety(disabled)).not.toThrow();
  });

  it('reads the network section from the environment and reports meaningless entries together', () => {
    const config = loadConfig({
      env: {
        BURROW_NETWORK__PREVIEW_DOMAIN: 'preview.example.com',
        BURROW_NETWORK__EGRESS_ALLOW: '*.debian.org, pypi.internal',
        BURROW_NETWORK__ALLOW_PRIVATE: '10.20.0.0/16',
        BURROW_NETWORK__EGRESS_HOSTS: 'pypi.internal=10.20.0.5',
        BURROW_NETWORK__PREVIEW_TOKEN_TTL: '15m',
      },
    });
    expect(config.network).toMatchObject({
      preview_domain: 'preview.example.com',
      preview_scheme: 'http',
      preview_port: 0,
      preview_token_ttl: 900_000,
      egress_allow: ['*.debian.org', 'pypi.internal'],
      allow_private: ['10.20.0.0/16'],
      bridge_firewall: true,
    });
    expect(() =>
      loadConfig({
        env: {
          BURROW_NETWORK__EGRESS_DENY: 'http://x',
          BURROW_NETWORK__ALLOW_PRIVATE: '10.0.0.0/99',
          BURROW_NETWORK__EGRESS_HOSTS: 'nohost',
        },
      }),
    ).toThrow(/network\.egress_deny[\s\S]*allow_private[\s\S]*egress_hosts/);
    expect(() => loadConfig({ env: { BURROW_NETWORK__PREVIEW_DOMAIN: 'bad domain' } })).toThrow(
      /network\.preview_domain: give a domain name/,
    );
  });
});

describe('tenancy and audit settings', () => {
  it('has no quotas by default and keeps the audit log 90 days', () => {
    const config = loadConfig({ env: {} });
    expect(config.tenancy).toEqual({
      max_sandboxes: 0,
      max_memory: 0,
      max_cpu: 0,
      max_snapshots: 0,
      tenants: {},
    });
    expect(config.audit.retention).toBe(90 * 24 * 3_600_000);
  });

  it('reads default quotas, per-tenant quotas and rate limits, and refuses bad tenant names', () => {
    const yaml = [
      'tenancy:',
      '  max_sandboxes: 3',
      '  max_memory: 2g',
      '  tenants:',
      '    team-a: { max_sandboxes: 10, max_cpu: 4000000000, max_snapshots: 5, rate_limit_rps: 50 }',
      'audit:',
      '  retention: 720h',
    ].join('\n');
    const config = loadConfig({
      file: file('tenancy.yaml', yaml),
      env: { BURROW_TENANCY__MAX_SNAPSHOTS: '7' },
    });
    expect(config.tenancy).toMatchObject({ max_sandboxes: 3, max_memory: 2 * 1024 ** 3, max_snapshots: 7 });
    expect(config.tenancy.tenants['team-a']).toEqual({
      max_sandboxes: 10,
      max_cpu: 4e9,
      max_snapshots: 5,
      rate_limit_rps: 50,
    });
    expect(config.audit.retention).toBe(720 * 3_600_000);
    const bad = file('bad.yaml', 'tenancy:\n  tenants:\n    "a b": { max_sandboxes: 1 }\n');
    expect(() => loadConfig({ file: bad, env: {} })).toThrow(/"a b" is not a tenant name/);
    const typo = file('typo.yaml', 'tenancy:\n  tenants:\n    a: { max_sandbox: 1 }\n');
    expect(() => loadConfig({ file: typo, env: {} })).toThrow(/max_sandbox/);
  });
});

describe('durations that drive timers or deadlines', () => {
  it('refuses timer durations that Node would wrap to 1 ms', () => {
    expect(() => loadConfig({ env: { BURROW_S3__SYNC_TIMEOUT: '600h' } })).toThrow(
      /s3\.sync_timeout: at most/,
    );
    expect(() => loadConfig({ env: { BURROW_SANDBOX__REAPER_INTERVAL: '1000h' } })).toThrow(
      /sandbox\.reaper_interval: at most/,
    );
  });

  it('has a lifetime maximum (24 h) that the default lifetime may not exceed', () => {
    expect(loadConfig({ env: {} }).sandbox.max_timeout).toBe(24 * 3_600_000);
    expect(() =>
      loadConfig({ env: { BURROW_SANDBOX__DEFAULT_TIMEOUT: '2h', BURROW_SANDBOX__MAX_TIMEOUT: '1h' } }),
    ).toThrow(/sandbox\.default_timeout: 7200 s is above sandbox\.max_timeout \(3600 s\)/);
    expect(() => loadConfig({ env: { BURROW_SANDBOX__MAX_TIMEOUT: '9000h' } })).toThrow(
      /sandbox\.max_timeout: at most/,
    );
  });
});

describe('operator ceilings', () => {
  it('default to a finite memory limit, a process ceiling, a tmpfs total and a host port range', () => {
    const { sandbox } = loadConfig({ env: {} });
    expect(sandbox.default_memory).toBe(1024 ** 3);
    expect(sandbox.max_pid_limit).toBe(4096);
    expect(sandbox.max_tmpfs_total).toBe(8 * 1024 ** 3);
    expect(sandbox.host_port_range).toEqual({ min: 20_000, max: 29_999 });
  });

  it('read a port range and refuse a malformed one', () => {
    expect(
      loadConfig({ env: { BURROW_SANDBOX__HOST_PORT_RANGE: '30000 - 30010' } }).sandbox.host_port_range,
    ).toEqual({ min: 30_000, max: 30_010 });
    for (const bad of ['80', '0-100', '200-100', '1-70000', 'a-b'])
      expect(() => loadConfig({ env: { BURROW_SANDBOX__HOST_PORT_RANGE: bad } })).toThrow(
        /is not a port range/,
      );
  });

  it('refuse defaults above their maxima', () => {
    expect(() =>
      loadConfig({ env: { BURROW_SANDBOX__DEFAULT_MEMORY: '4g', BURROW_SANDBOX__MAX_MEMORY: '2g' } }),
    ).toThrow(/sandbox\.default_memory: 4294967296 is above sandbox\.max_memory \(2147483648\)/);
    expect(() =>
      loadConfig({ env: { BURROW_SANDBOX__DEFAULT_PID_LIMIT: '500', BURROW_SANDBOX__MAX_PID_LIMIT: '100' } }),
    ).toThrow(/sandbox\.default_pid_limit: 500 is above sandbox\.max_pid_limit \(100\)/);
    expect(() => loadConfig({ env: { BURROW_SANDBOX__MAX_TMPFS_TOTAL: '512m' } })).toThrow(
      /sandbox\.default_tmpfs: its sizes add up to 1006632960 bytes, above sandbox\.max_tmpfs_total/,
    );
  });
});
