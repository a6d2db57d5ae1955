/** The file routes, on the fake (files.test.ts) and on Docker (files.docker.test.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerOnly } from './test-support/cases.js';
import { startApi, type Harness, type RuntimeKind } from './test-support/harness.js';

export function fileRoutesSuite(kind: RuntimeKind): void {
  let api: Harness;
  let id: string;
  beforeAll(async () => {
    api = await startApi({ runtime: kind, maxFileBytes: 64 * 1024 });
    id = await api.sandbox();
  });
  afterAll(() => api.close());

  const files = (sandbox: string, suffix = '') => `/api/v1/sandboxes/${sandbox}/files${suffix}`;
  const q = (path: string) => `?path=${encodeURIComponent(path)}`;

  async function errorOf(response: Response): Promise<{ status: number; code: string; error: string }> {
    const body = (await response.json()) as { code: string; error: string };
    return { status: response.status, code: body.code, error: body.error };
  }

  describe('raw file read and write', () => {
    it('round-trips bytes with PUT and GET, whatever the Content-Type', async () => {
      const bytes = Buffer.from(Array.from({ length: 3000 }, (_v, i) => i % 256));
      const put = await api.call(files(id) + q('/tmp/dir/data.bin'), {
        method: 'PUT',
        body: bytes,
        headers: { 'content-type': 'application/json' },
      });
      expect(put.status).toBe(200);
      expect(await put.json()).toEqual({ success: true, bytes: 3000 });
      const get = await api.call(files(id) + q('/tmp/dir/data.bin'));
      expect(get.status).toBe(200);
      expect(get.headers.get('content-type')).toBe('application/octet-stream');
      expect(get.headers.get('content-length')).toBe('3000');
      expect(Buffer.from(await get.arrayBuffer()).equals(bytes)).toBe(true);
    });

    it('takes a malformed or empty Content-Type as Den does (no 415)', async () => {
      for (const type of ['', 'garbage', ';;', '/json']) {
        const put = await api.call(files(id) + q('/tmp/typed'), {
          method: 'PUT',

          body: 'abc',

          headers: { 'content-type': type },
        });

        expect(put.status).toBe(200);

        expect(await put.json()).toEqual({ success: true, bytes: 3 });
      }
    });

    it('writes an empty file from an empty body', async () => {
      const put = await api.call(files(id) + q('/tmp/empty'), { method: 'PUT' });
      expect(await put.json()).toEqual({ success: true, bytes: 0 });
      expect((await api.call(files(id) + q('/tmp/empty'))).headers.get('content-length')).toBe('0');
    });

    it('keeps non-UTF-8 path bytes (%FF) intact', async () => {
      const put = await api.call(`${files(id)}?path=/tmp/%FF`, { method: 'PUT', body: 'latin' });
      expect(put.status).toBe(200);
      expect(await (await api.call(`${files(id)}?path=/tmp/%FF`)).text()).toBe('latin');
      // U+FFFD's own encoding names a different (missing) file: the byte was not replaced.
      expect((await api.call(`${files(id)}?path=/tmp/%EF%BF%BD`)).status).toBe(404);
      const stat = await api.call(`${files(id, '/stat')}?path=/tmp/%FF`);
      expect(stat.status).toBe(200);
      const remove = await api.call(`${files(id)}?path=/tmp/%FF`, { method: 'DELETE' });
      expect(remove.status).toBe(200);
      expect((await api.call(`${files(id)}?path=/tmp/%FF`)).status).toBe(404);
    });

    it('treats + as a space, as Go does', async () => {
      await api.call(`${files(id)}?path=/tmp/a+b`, { method: 'PUT', body: 'x' });
      expect((await api.call(files(id) + q('/tmp/a b'))).status).toBe(200);
    });

    it('refuses a body over maxFileBytes with 413, by Content-Length and mid-stream', async () => {
      const big = Buffer.alloc(64 * 1024 + 1);
      const declared = await errorOf(await api.call(files(id) + q('/tmp/big'), { method: 'PUT', body: big }));
      expect(declared).toMatchObject({
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
        error: 'file exceeds the 65536 byte limit',
      });
      const chunks = [Buffer.alloc(40 * 1024), Buffer.alloc(40 * 1024)];
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk === undefined) controller.close();
          else controller.enqueue(chunk);
        },
      });
      const streamed = await api.call(files(id) + q('/tmp/big'), {
        method: 'PUT',
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(await errorOf(streamed)).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
      expect((await api.call(files(id) + q('/tmp/big'))).status).toBe(404);
    });

    it.each([
      ['a missing file', '/tmp/missing', 404, 'FILE_NOT_FOUND'],
      ['a directory', '/tmp', 400, 'IS_A_DIRECTORY'],
      ['a relative path', 'tmp/x', 400, 'INVALID_PATH'],
      ['a .. component', '/tmp/../etc', 400, 'INVALID_PATH'],
    ])('GET of %s is %i %s', async (_name, path, status, code) => {
      expect(await errorOf(await api.call(files(id) + q(path)))).toMatchObject({ status, code });
    });

    it("requires ?path= (Den's message)", async () => {
      for (const [method, suffix] of [
        ['GET', ''],
        ['PUT', ''],
        ['DELETE', ''],
        ['GET', '/stat'],
        ['POST', '/mkdir'],
        ['GET', '/download'],
      ] as const) {
        const error = await errorOf(await api.call(files(id, suffix), { method }));
        expect(error.status).toBe(400);
        expect(error.error).toMatch(/^path query parameter is required/);
      }
    });

    it('answers 409 on a stopped sandbox and 404 on an unknown one', async () => {
      const stopped = await api.sandbox();
      await api.engine.stop(stopped);
      for (const [method, suffix] of [
        ['GET', ''],
        ['PUT', ''],
        ['DELETE', ''],
        ['GET', '/list'],
        ['GET', '/stat'],
        ['POST', '/mkdir'],
        ['GET', '/download'],
      ] as const) {
        expect(await errorOf(await api.call(files(stopped, suffix) + q('/tmp/x'), { method }))).toMatchObject(
          {
            status: 409,
            code: 'SANDBOX_NOT_RUNNING',
          },
        );
        expect(await errorOf(await api.call(files('nope', suffix) + q('/tmp/x'), { method }))).toMatchObject({
          status: 404,
          code: 'SANDBOX_NOT_FOUND',
        });
      }
    });
  });

  describe("what the sandbox's filesystem refuses", () => {
    it("answers 403 PERMISSION_DENIED where the image's user may not read, and 200 where it may", async () => {
      const sandbox = await api.sandbox({ image: await api.userImage() });
      await api.engine.writeFile(sandbox, '/tmp/locked', 'secret', { mode: 0 });
      expect(await errorOf(await api.call(files(sandbox) + q('/tmp/locked')))).toEqual({
        status: 403,
        code: 'PERMISSION_DENIED',
        error: "/tmp/locked: permission denied for the sandbox's user",
      });
      await api.call(files(sandbox) + q('/tmp/open'), { method: 'PUT', body: 'mine' });
      expect(await (await api.call(files(sandbox) + q('/tmp/open'))).text()).toBe('mine');
    });

    it('answers 507 NO_SPACE on a full tmpfs and keeps nothing of the upload', async () => {
      const sandbox = await api.sandbox({ storage: { tmpfs: [{ path: '/tmp', size: '32k' }] } });
      const put = await api.call(files(sandbox) + q('/tmp/big.bin'), {
        method: 'PUT',
        body: Buffer.alloc(60 * 1024, 1),
      });
      expect(await errorOf(put)).toMatchObject({ status: 507, code: 'NO_SPACE' });
      expect((await api.call(files(sandbox) + q('/tmp/big.bin'))).status).toBe(404);
      const small = await api.call(files(sandbox) + q('/tmp/small.bin'), { method: 'PUT', body: 'fits' });
      expect(small.status).toBe(200);
    });

    it('answers 403 READ_ONLY on the read-only root, saying where to write instead', async () => {
      expect(
        await errorOf(await api.call(files(id) + q('/etc/new-file'), { method: 'PUT', body: 'x' })),
      ).toMatchObject({ status: 403, code: 'READ_ONLY', error: expect.stringMatching(/write under \/tmp/) });
    });
  });

  describe('directory operations', () => {
    it('lists [] for an empty directory and FileInfo entries otherwise', async () => {
      const sandbox = await api.sandbox();
      const empty = await api.call(files(sandbox, '/list') + q('/var/tmp'));
      expect(empty.status).toBe(200);
      expect(await empty.text()).toBe('[]');
      await api.call(files(sandbox) + q('/var/tmp/a.txt'), { method: 'PUT', body: 'abc' });
      const list = (await (await api.call(files(sandbox, '/list') + q('/var/tmp'))).json()) as Record<
        string,
        unknown
      >[];
      expect(list).toHaveLength(1);
      expect(Object.keys(list[0] ?? {}).sort()).toEqual([
        'is_dir',
        'mod_time',
        'mode',
        'name',
        'path',
        'size',
      ]);
      expect(list[0]).toMatchObject({
        name: 'a.txt',
        path: '/var/tmp/a.txt',
        size: 3,
        mode: '-rw-r--r--',
        is_dir: false,
      });
      const root = (await (await api.call(files(sandbox, '/list'))).json()) as { name: string }[];
      expect(root.map((entry) => entry.name)).toContain('tmp');
    });

    it('stats, makes directories and deletes (missing paths succeed, as rm -rf)', async () => {
      const mkdir = await api.call(files(id, '/mkdir') + q('/tmp/x/y'), { method: 'POST' });
      expect(mkdir.status).toBe(200);
      expect(await mkdir.json()).toEqual({ success: true });
      const stat = (await (await api.call(files(id, '/stat') + q('/tmp/x/y'))).json()) as Record<
        string,
        unknown
      >;
      expect(stat).toMatchObject({ name: 'y', path: '/tmp/x/y', is_dir: true, mode: 'drwxr-xr-x' });
      expect(stat.mod_time).toMatch(/^\d{4}-\d\d-\d\dT/);
      const remove = await api.call(files(id) + q('/tmp/x'), { method: 'DELETE' });
      expect(await remove.json()).toEqual({ success: true });
      expect((await api.call(files(id, '/stat') + q('/tmp/x/y'))).status).toBe(404);
      const again = await api.call(files(id) + q('/tmp/x'), { method: 'DELETE' });
      expect(again.status).toBe(200);
      expect(await errorOf(await api.call(files(id, '/stat') + q('/nope')))).toMatchObject({
        status: 404,
        code: 'FILE_NOT_FOUND',
      });
      expect((await api.call(files(id, '/list') + q('/tmp/dir/data.bin'))).status).toBe(400);
    });
  });

  describe('upload and download', () => {
    function form(fields: [string, string | Blob, string?][]): FormData {
      const data = new FormData();
      for (const [name, value, filename] of fields) {
        if (typeof value === 'string') data.append(name, value);
        else data.append(name, value, filename);
      }
      return data;
    }

    it('uploads a multipart file part to the path field', async () => {
      const body = form([
        ['path', '/tmp/up/file.txt'],
        ['file', new Blob(['uploaded']), 'file.txt'],
      ]);
      const response = await api.call(files(id, '/upload'), { method: 'POST', body });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ success: true, bytes: 8 });
      expect(await (await api.call(files(id) + q('/tmp/up/file.txt'))).text()).toBe('uploaded');
    });

    it('takes the path from the query string too', async () => {
      const response = await api.call(files(id, '/upload') + q('/tmp/up/q.txt'), {
        method: 'POST',
        body: form([['file', new Blob(['q']), 'q']]),
      });
      expect(response.status).toBe(200);
      expect(await (await api.call(files(id) + q('/tmp/up/q.txt'))).text()).toBe('q');
    });

    it.each([
      ['no file part', [['path', '/tmp/up/none']] as [string, string][], 400, /^file field is required/],
      [
        'no path',
        [['file', new Blob(['x']), 'x']] as [string, Blob, string][],
        400,
        /^path field is required/,
      ],
      [
        'a relative path',
        [
          ['path', 'rel'],
          ['file', new Blob(['x']), 'x'],
        ] as [string, string | Blob, string?][],
        400,
        /absolute/,
      ],
      [
        'a file over the limit',
        [
          ['path', '/tmp/up/big'],
          ['file', new Blob([Buffer.alloc(64 * 1024 + 1)]), 'big'],
        ] as [string, string | Blob, string?][],
        413,
        /^file exceeds the 65536 byte limit/,
      ],
    ])('refuses %s', async (_name, fields, status, message) => {
      const error = await errorOf(
        await api.call(files(id, '/upload'), { method: 'POST', body: form(fields) }),
      );
      expect(error.status).toBe(status);
      expect(error.error).toMatch(message);
    });

    it.each([
      [
        'six file parts (the limit is 5)',
        Array.from({ length: 6 }, (_v, i) => [`f${i}`, new Blob(['x']), `f${i}`]),
      ],
      ['21 fields (the limit is 20)', Array.from({ length: 21 }, (_v, i) => [`field${i}`, 'v'])],
      ['a field over 64 KiB', [['path', `/tmp/${'a'.repeat(64 * 1024)}`]]],
    ] as [string, [string, string | Blob, string?][]][])(
      'refuses a form with %s with 413',
      async (_name, fields) => {
        const response = await api.call(files(id, '/upload') + q('/tmp/up/limits'), {
          method: 'POST',
          body: form([...fields, ['file', new Blob(['late']), 'late']]),
        });
        expect(response.status).toBe(413);
        expect(((await response.json()) as { code: string }).code).toBe('PAYLOAD_TOO_LARGE');
        expect((await api.call(files(id) + q('/tmp/up/limits'))).status).toBe(404);
      },
    );

    it('ignores what follows the written file part, limits included: 200 and the file is there', async () => {
      const extra = Array.from({ length: 25 }, (_v, i) => [`after${i}`, 'v'] as [string, string]);
      const response = await api.call(files(id, '/upload'), {
        method: 'POST',
        body: form([['path', '/tmp/up/first.txt'], ['file', new Blob(['first']), 'first'], ...extra]),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ success: true, bytes: 5 });
      expect(await (await api.call(files(id) + q('/tmp/up/first.txt'))).text()).toBe('first');
    });

    it('refuses a body that is not multipart', async () => {
      const error = await errorOf(await api.call(files(id, '/upload'), { method: 'POST', body: '{}' }));
      expect(error).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
      expect(error.error).toMatch(/^failed to parse multipart form/);
    });

    it('downloads with a sanitised attachment filename', async () => {
      await api.call(files(id) + q('/tmp/my report (1).txt'), { method: 'PUT', body: 'r' });
      const response = await api.call(files(id, '/download') + q('/tmp/my report (1).txt'));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/octet-stream');
      expect(response.headers.get('content-disposition')).toBe(
        `attachment; filename="my_report__1_.txt"; filename*=UTF-8''${encodeURIComponent('my report (1).txt')}`,
      );
      expect(await response.text()).toBe('r');
      await api.call(files(id) + q('/tmp/plain.txt'), { method: 'PUT', body: 'p' });
      const plain = await api.call(files(id, '/download') + q('/tmp/plain.txt'));
      expect(plain.headers.get('content-disposition')).toBe('attachment; filename="plain.txt"');
    });

    // Files whose size the kernel does not report.
    const onDocker = dockerOnly(kind, 'the fake has no /proc, and no FIFOs or devices');

    onDocker(
      'streams /proc files to their end, without a Content-Length, and keeps it for regular files',
      async () => {
        const cpuinfo = await api.call(files(id) + q('/proc/cpuinfo'));
        expect(cpuinfo.status).toBe(200);
        expect(cpuinfo.headers.get('content-length')).toBeNull();
        expect(await cpuinfo.text()).toMatch(/^processor\s*:/m);
        const status = await api.call(files(id) + q('/proc/self/status'));
        expect(await status.text()).toMatch(/^Name:/m);
        await api.engine.writeFile(id, '/tmp/sized.txt', 'twelve bytes');
        const sized = await api.call(files(id) + q('/tmp/sized.txt'));
        expect(sized.headers.get('content-length')).toBe('12');
        expect(await sized.text()).toBe('twelve bytes');
      },
    );

    onDocker('refuses a FIFO and a device with 400 at once, without waiting for a writer', async () => {
      const made = await api.engine.exec(id, { cmd: ['mkfifo', '/tmp/pipe'] });
      expect(made.exitCode).toBe(0);
      for (const path of ['/tmp/pipe', '/dev/zero']) {
        const started = Date.now();
        const response = await api.call(files(id) + q(path));
        expect(await errorOf(response)).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
        expect(Date.now() - started).toBeLessThan(10_000);
      }
    });
  });
}
