/**
 * The SDK against the server's real HTTP + WebSocket API over its in-memory runtime (no Docker): the wire format,
 * status codes and stream protocol as the server implements them. The e2e tests repeat this on Docker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startApi, type Harness } from '../../server/src/api/test-support/harness.js';
import {
  AuthenticationError,
  Burrow,
  Den,
  DenError,
  FileNotFoundError,
  SandboxNotFoundError,
  SandboxNotRunningError,
  SnapshotNotFoundError,
  ValidationError,
} from './index.js';

let api: Harness;
let burrow: Burrow;

beforeAll(async () => {
  api = await startApi();
  burrow = new Burrow({ url: api.url, apiKey: API_KEY });
});
afterAll(() => api.close());

describe('SDK against the real API (fake runtime)', () => {
  it('health, version and auth', async () => {
    expect(await burrow.health()).toMatchObject({ ok: true });
    expect(await burrow.version()).toMatchObject({ version: '9.9.9', commit: 'abc123' });
    expect(await burrow.stats()).toEqual({ running: 0, stopped: 0, total: 0 });
    expect(await burrow.resources()).toMatchObject({
      host: { cpuCores: 4, memoryTotal: 2 },
      pressure: { canCreate: true, level: 'normal' },
    });
    await expect(new Burrow({ url: api.url }).list()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(new Burrow({ url: api.url, apiKey: 'wrong' }).list()).rejects.toBeInstanceOf(
      AuthenticationError,
    );
  });

  it('lifecycle, info and typed errors', async () => {
    const sandbox = await burrow.create({ labels: { a: 'b' }, env: { X: '1' }, timeoutSeconds: 600 });
    expect(sandbox.info).toMatchObject({ status: 'running', labels: { a: 'b' } });
    expect(sandbox.info.expiresAt?.getTime()).toBeGreaterThan(Date.now());
    expect((await burrow.get(sandbox.id)).id).toBe(sandbox.id);
    expect((await burrow.list()).map((item) => item.id)).toContain(sandbox.id);
    const extended = await sandbox.setTimeout(7200);
    expect(extended.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 7_000_000);
    expect((await sandbox.stats()).timestamp).toBeInstanceOf(Date);
    await sandbox.stop();
    expect((await sandbox.refresh()).status).toBe('stopped');
    await expect(sandbox.commands.run(['true'])).rejects.toBeInstanceOf(SandboxNotRunningError);
    await sandbox.start();
    await sandbox.destroy();
    await expect(burrow.get(sandbox.id)).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(
      burrow.create({ timeoutSeconds: 60, ports: [{ sandboxPort: 0, hostPort: 0 }] }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('sync and streamed commands, stdin, kill, close', async () => {
    await using sandbox = await burrow.create();
    expect(await sandbox.commands.run('echo out; echo err >&2; exit 3')).toEqual({
      exitCode: 3,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
      truncated: false,
    });
    expect((await sandbox.commands.run(['cat'], { stdin: 'fed' })).stdout).toBe('fed');
    expect((await sandbox.commands.run(['pwd'], { cwd: '/tmp' })).stdout).toBe('/tmp\n');
    expect((await sandbox.commands.run(['printenv', 'Y'], { env: { Y: 'z' } })).stdout).toBe('z\n');
    const seen: string[] = [];
    expect(
      (await sandbox.commands.run(['echo', 'live'], { onStdout: (data) => seen.push(data) })).exitCode,
    ).toBe(0);
    expect(seen.join('')).toBe('live\n');

    const cat = await sandbox.commands.stream(['cat'], { stdin: true });
    cat.stdin.write('a');
    cat.stdin.write('b');
    cat.stdin.end();
    const events = [];
    for await (const event of cat) events.push(event);
    expect(events.at(-1)).toMatchObject({ type: 'exit', exitCode: 0 });
    expect((await cat.wait()).stdout).toBe('ab');

    const sleeper = await sandbox.commands.stream(['sleep', '60']);
    setTimeout(() => sleeper.kill('SIGKILL'), 100);
    expect((await sleeper.wait()).exitCode).not.toBe(0);

    const timed = await sandbox.commands.run(['sleep', '60'], { timeoutMs: 1000 });
    expect(timed.timedOut).toBe(true);

    const gone = await burrow.create();
    await gone.destroy();
    await expect(gone.commands.stream(['true']).then((proc) => proc.wait())).rejects.toBeInstanceOf(
      SandboxNotFoundError,
    );
  });

  it('files, streamed both ways', async () => {
    await using sandbox = await burrow.create();
    await sandbox.files.mkdir('/tmp/d');
    expect((await sandbox.files.write('/tmp/d/a.txt', 'alpha')).bytes).toBe(5);
    expect(await sandbox.files.readText('/tmp/d/a.txt')).toBe('alpha');
    async function* chunks() {
      for (let i = 0; i < 4; i++) yield new Uint8Array(256 * 1024).fill(i);
    }
    expect((await sandbox.files.write('/tmp/d/big', chunks())).bytes).toBe(1024 * 1024);
    let total = 0;
    for await (const chunk of await sandbox.files.readStream('/tmp/d/big')) total += chunk.byteLength;
    expect(total).toBe(1024 * 1024);
    expect((await sandbox.files.list('/tmp/d')).map((entry) => entry.name).sort()).toEqual(['a.txt', 'big']);
    expect(await sandbox.files.stat('/tmp/d')).toMatchObject({ isDir: true });
    await sandbox.files.remove('/tmp/d/a.txt');
    await expect(sandbox.files.read('/tmp/d/a.txt')).rejects.toBeInstanceOf(FileNotFoundError);
    await expect(sandbox.files.stat('/tmp/d/a.txt')).rejects.toBeInstanceOf(FileNotFoundError);
  });

  it('snapshots', async () => {
    await using sandbox = await burrow.create();
    const snapshot = await sandbox.snapshots.create('s');
    expect((await sandbox.snapshots.list()).map((item) => item.id)).toContain(snapshot.id);
    await using restored = await burrow.snapshots.restore(snapshot.id);
    expect(restored.info.status).toBe('running');
    await burrow.snapshots.delete(snapshot.id);
    await expect(burrow.snapshots.delete(snapshot.id)).rejects.toBeInstanceOf(SnapshotNotFoundError);
  });

  it("Den's surface", async () => {
    const den = new Den({ url: api.url, apiKey: API_KEY });
    expect(await den.health()).toBe(true);
    const sandbox = await den.sandbox.create({ network_mode: 'none' });
    expect(await sandbox.exec(['echo', 'den'])).toMatchObject({ exit_code: 0, stdout: 'den\n' });
    await sandbox.writeFile('/tmp/f', 'x');
    expect(await sandbox.readFile('/tmp/f')).toBe('x');
    await sandbox.stop();
    await sandbox.destroy();
    await expect(den.sandbox.get(sandbox.id)).rejects.toMatchObject({
      constructor: DenError,
      statusCode: 404,
      message: 'API error (404): sandbox not found',
    });
  });

  it('previews, published ports and egress', async () => {
    const sandbox = await burrow.create({
      networkMode: 'none',
      publicPorts: [9000],
    });
    const url = await sandbox.previewUrl(3000, { expiresInSeconds: 60 });
    expect(url).toMatch(
      new RegExp(`^http://3000-${sandbox.id}\\.localhost:\\d+/\\?burrow_token=bp1\\.3000\\.`),
    );
    expect(await sandbox.getHost(3000)).toBe(new URL(url).host);
    expect(await sandbox.previewUrl(9000)).not.toContain('burrow_token');
    const preview = await sandbox.network.setPublic(3000, true);
    expect(preview).toMatchObject({ public: true, port: 3000 });
    expect(preview.token).toBeUndefined();
    await sandbox.network.rotatePreviewTokens();
    const { freePort } = await import('../../server/src/test-support/free-port.js');
    const hostPort = await freePort();
    expect(await sandbox.network.publish(80, hostPort)).toEqual({
      sandboxPort: 80,
      hostPort,
      protocol: 'tcp',
    });
    expect(await sandbox.network.ports()).toHaveLength(1);
    await sandbox.network.unpublish(hostPort);
    expect(await sandbox.network.ports()).toEqual([]);
    expect(await sandbox.network.egress()).toEqual({ policy: null, secrets: [], refused: 0 });
    await expect(burrow.create({ networkMode: 'none', egress: { allow: ['a.com'] } })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await sandbox.destroy();
  });
});
