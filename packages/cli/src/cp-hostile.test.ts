/**
 * `burrow cp` from a sandbox trusts nothing the server says: names with a separator, `..`, NUL, empty or `.` are
 * refused, and every local path must stay under the target directory. The server here is hostile on purpose: it
 * answers like Burrow but lists whatever name a test gives it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

vi.mock('@burrow/server', () => {
  throw new Error('a client verb loaded @burrow/server');
});
const { runCli } = await import('./cli.js');
const { checkRemoteName, localPathUnder } = await import('./transfer.js');

const TIME = '2026-05-01T00:00:00Z';
/** What /data lists, and what each subdirectory lists. */
let listings: Record<string, unknown[]> = {};
let server: Server;
let url: string;
let work: string;

function entry(name: string, isDir = false) {
  return {
    name,
    path: `/data/${name}`,
    size: 4,
    mode: isDir ? 'drwxr-xr-x' : '-rw-r--r--',
    mod_time: TIME,
    is_dir: isDir,
  };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    const target = new URL(request.url ?? '/', 'http://x');
    const path = target.searchParams.get('path') ?? '';
    const json = (body: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (target.pathname === '/api/v1/sandboxes/sb1')
      return json({ id: 'sb1', image: 'x', status: 'running', created_at: TIME, expires_at: TIME });
    if (target.pathname.endsWith('/files/stat')) return json({ ...entry('data', true), path });
    if (target.pathname.endsWith('/files/list')) return json(listings[path] ?? []);
    if (target.pathname.endsWith('/files/download')) {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '4' });
      return response.end('evil');
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'no route', code: 'ROUTE_NOT_FOUND' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(async () => {
  process.exitCode = undefined;
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

async function cp(from: string, to: string): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await runCli(['node', 'burrow', '--server', url, 'cp', from, to]);
    process.exitCode = undefined;
    return { code, stderr };
  } finally {
    err.mockRestore();
  }
}

/** Every path under `dir`, relative. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('burrow cp from a hostile server', () => {
  it.each([
    ['../../x', 'a parent escape'],
    ['../x', 'a parent escape'],
    ['a/../../x', 'a separator'],
    ['/etc/x', 'an absolute name'],
    ['..', 'the parent itself'],
    ['.', 'the directory itself'],
    ['', 'an empty name'],
    ['x\u0000y', 'NUL'],
  ])('refuses %j (%s) and writes nothing anywhere', async (name) => {
    work = await mkdtemp(join(tmpdir(), 'burrow-cp-hostile-'));
    const target = join(work, 'a', 'b', 'out');
    listings = { '/data': [entry('fine.txt'), entry(name)] };
    const result = await cp('sb1:/data', target);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^burrow: refusing the name .* that the server listed in \/data/);
    expect(await tree(work)).toEqual([]);
  });

  it('refuses a bad name deep in the tree before writing anything', async () => {
    work = await mkdtemp(join(tmpdir(), 'burrow-cp-hostile-'));
    listings = {
      '/data': [entry('ok.txt'), entry('sub', true)],
      '/data/sub': [entry('../../../../escape')],
    };
    const result = await cp('sb1:/data', join(work, 'out'));
    expect(result.code).toBe(1);
    expect(await tree(work)).toEqual([]);
  });

  it('refuses an endless tree instead of recursing forever', async () => {
    work = await mkdtemp(join(tmpdir(), 'burrow-cp-hostile-'));
    // Every directory lists one more directory named "d": /data/d/d/d/...
    listings = new Proxy({} as Record<string, unknown[]>, { get: () => [entry('d', true)] });
    const result = await cp('sb1:/data', join(work, 'out'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nested more than 256 directories deep/);
    expect(await tree(work)).toEqual([]);
  });

  it('still copies an honest tree', async () => {
    work = await mkdtemp(join(tmpdir(), 'burrow-cp-hostile-'));
    listings = { '/data': [entry('a.txt'), entry('sub', true)], '/data/sub': [entry('b.txt')] };
    const result = await cp('sb1:/data', join(work, 'out'));
    expect(result).toEqual({ code: 0, stderr: '' });
    expect(await tree(work)).toEqual(['out', 'out/a.txt', 'out/sub', 'out/sub/b.txt']);
  });
});

describe('the checks themselves', () => {
  it('names', () => {
    expect(checkRemoteName('a.txt', '/d')).toBe('a.txt');
    expect(checkRemoteName('..a', '/d')).toBe('..a');
    expect(() => checkRemoteName('a/b', '/d')).toThrow(/refusing the name "a\/b"/);
  });

  it('local paths stay under the target', () => {
    expect(localPathUnder('/t', 'a/b')).toBe('/t/a/b');
    expect(localPathUnder('/t', '..a')).toBe('/t/..a');
    expect(() => localPathUnder('/t', '../x')).toThrow(/outside the target directory \/t/);
    expect(() => localPathUnder('/t', 'a/../../x')).toThrow(/outside/);
    expect(() => localPathUnder('/t', '/etc/passwd')).toThrow(/outside/);
  });
});
