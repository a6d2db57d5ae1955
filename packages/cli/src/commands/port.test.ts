/** `burrow port`, `burrow egress` and create's egress flags against the server's real API (in-memory runtime). */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_KEY, startApi, type Harness } from '../../../server/src/api/test-support/harness.js';
import { freePort } from '../../../server/src/test-support/free-port.js';
import { runCli } from '../cli.js';
import { createOptions } from './create.js';

let api: Harness;
beforeAll(async () => {
  api = await startApi({ policy: { defaultNetworkMode: 'bridge' } });
});
afterAll(() => api.close());

async function cli(...args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await runCli(['node', 'burrow', '--server', api.url, '--api-key', API_KEY, ...args]);
    process.exitCode = undefined;
    return { code, stdout };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('burrow port and egress', () => {
  it('turns --allow-domain and --deny into an egress policy', () => {
    expect(
      createOptions({ allowDomain: ['a.com', '*.b.org'], deny: ['c.a.com'], publicPort: [3000] }),
    ).toEqual({
      egress: { allow: ['a.com', '*.b.org'], deny: ['c.a.com'] },
      publicPorts: [3000],
    });
  });

  it('prints the preview URL with its token, the path form, and publishes', async () => {
    const { stdout: id } = await cli(
      'create',
      '--allow-domain',
      'pypi.org,*.pythonhosted.org',
      '--deny',
      'evil.org',
    );
    const sandbox = id.trim();
    const host = await cli('port', sandbox, '8000');
    expect(host.stdout).toMatch(
      new RegExp(`^http://8000-${sandbox}\\.localhost:\\d+/\\?burrow_token=bp1\\.8000\\.`),
    );
    const path = await cli('port', sandbox, '8000', '--path', '--expires', '10m');
    expect(path.stdout).toContain(`/api/v1/sandboxes/${sandbox}/proxy/8000/?burrow_token=`);
    expect((await cli('port', sandbox, '8000', '--public')).stdout.trim()).toMatch(/\/$/);
    const hostPort = await freePort();
    await cli('port', sandbox, '8000', '--publish', String(hostPort));
    expect(api.network.listPorts(sandbox)).toEqual([{ sandboxPort: 8000, hostPort, protocol: 'tcp' }]);
    await cli('port', sandbox, String(hostPort), '--unpublish');
    expect(api.network.listPorts(sandbox)).toEqual([]);
    const egress = JSON.parse((await cli('egress', sandbox)).stdout) as { policy: { allow: string[] } };
    expect(egress.policy.allow).toEqual(['pypi.org', '*.pythonhosted.org']);
    const changed = JSON.parse((await cli('egress', sandbox, '--allow-domain', 'deb.debian.org')).stdout) as {
      policy: { allow: string[]; deny: string[] };
    };
    expect(changed.policy).toEqual({ allow: ['deb.debian.org'], deny: [] });
    expect((await cli('port', sandbox, '99999')).code).not.toBe(0);
  });
});
