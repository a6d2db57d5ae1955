/**
 * envd on a real loopback listener over the in-memory runtime, driven by a Connect client in the JSON form E2B's
 * SDKs use: routing, the access token, process streams and input, files, watches and /files.
 */
import { request as httpRequest } from 'node:http';
import { Code, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSignature } from '../access.js';
import { Filesystem, EventType, FileType } from '../gen/filesystem/filesystem_pb.js';
import { Process, Signal, type ProcessEvent } from '../gen/process/process_pb.js';
import { startFakeEndpoint, type FakeEndpoint } from '../test-support/fake-endpoint.js';

let e2b: FakeEndpoint;
let sandboxId = '';
let token = '';

beforeAll(async () => {
  e2b = await startFakeEndpoint();
  sandboxId = (await e2b.engine.create({})).id;
  token = e2b.tokens.tokenFor(sandboxId);
});
afterAll(async () => {
  await e2b?.close();
});

function clients(headers: Record<string, string> = {}) {
  const add: Interceptor = (next) => (request) => {
    for (const [name, value] of Object.entries(headers)) request.header.set(name, value);
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl: e2b.url,
    httpVersion: '1.1',
    useBinaryFormat: false,
    interceptors: [add],
  });
  return { process: createClient(Process, transport), files: createClient(Filesystem, transport) };
}

const ok = () =>
  clients({ 'e2b-sandbox-id': sandboxId, 'e2b-sandbox-port': '49983', 'x-access-token': token });

async function codeOf(work: Promise<unknown> | (() => Promise<unknown>)): Promise<Code | undefined> {
  try {
    await (typeof work === 'function' ? work() : work);
    return undefined;
  } catch (error) {
    return error instanceof ConnectError ? error.code : Code.Unknown;
  }
}

interface Collected {
  pid: number;
  stdout: string;
  stderr: string;
  pty: string;
  exitCode?: number;
  error?: string;
}

async function collect(events: AsyncIterable<{ event?: ProcessEvent | undefined }>): Promise<Collected> {
  const out: Collected = { pid: 0, stdout: '', stderr: '', pty: '' };
  for await (const { event } of events) {
    const choice = event?.event;
    if (choice?.case === 'start') out.pid = choice.value.pid;
    if (choice?.case === 'data') {
      const data = choice.value.output;
      if (data.case !== undefined) out[data.case] += Buffer.from(data.value).toString();
    }
    if (choice?.case === 'end') {
      out.exitCode = choice.value.exitCode;
      if (choice.value.error !== undefined) out.error = choice.value.error;
    }
  }
  return out;
}

describe('envd routing and access', () => {
  it('routes by headers, by the <port>-<id>.<domain> host and by the token alone', async () => {
    const byHeaders = await ok().process.list({});
    expect(byHeaders.processes).toEqual([]);
    const byToken = clients({ 'x-access-token': token });
    expect((await byToken.process.list({})).processes).toEqual([]);
    const health = await fetch(`${e2b.url}/health`, { headers: { 'e2b-sandbox-id': sandboxId } });
    expect(health.status).toBe(204);
    // getHost() URLs: the sandbox and port are in the Host header (fetch cannot set it; http.request can).
    const byHost = await new Promise<number>((resolve, reject) => {
      const url = new URL(e2b.url);
      const outgoing = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: '/files?path=/etc/hostname',
          headers: { host: `49983-${sandboxId}.${e2b.endpoint.domain}` },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
    // Routed to envd, which asks for the token (the control plane has no /files: it would answer 404).
    expect(byHost).toBe(401);
  });

  it("needs the sandbox's own token, and answers 502 for a sandbox that is not running", async () => {
    const other = (await e2b.engine.create({})).id;
    expect(await codeOf(clients({ 'e2b-sandbox-id': sandboxId }).process.list({}))).toBe(
      Code.Unauthenticated,
    );
    const wrong = clients({ 'e2b-sandbox-id': sandboxId, 'x-access-token': e2b.tokens.tokenFor(other) });
    expect(await codeOf(wrong.process.list({}))).toBe(Code.Unauthenticated);
    const gone = await fetch(`${e2b.url}/health`, { headers: { 'e2b-sandbox-id': 'nosuchsandbox' } });
    expect(gone.status).toBe(502);
    expect(await gone.json()).toMatchObject({ code: 502, message: expect.stringMatching(/not found/) });
    await e2b.engine.stop(other);
    const stopped = clients({ 'e2b-sandbox-id': other, 'x-access-token': e2b.tokens.tokenFor(other) });
    expect(await codeOf(stopped.process.list({}))).toBe(Code.Unavailable);
    const badPort = await fetch(`${e2b.url}/health`, {
      headers: { 'e2b-sandbox-id': sandboxId, 'e2b-sandbox-port': '99999' },
    });
    expect(badPort.status).toBe(400);
  });

  it('keeps the ports of a sandbox without public traffic for requests with its traffic token', async () => {
    const closed = (await e2b.engine.create({ labels: { 'e2b.public_traffic': 'false' } })).id;
    const port = { 'e2b-sandbox-id': closed, 'e2b-sandbox-port': '3000' };
    const refused = await fetch(`${e2b.url}/`, { headers: port });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({
      message: expect.stringMatching(/E2B-Traffic-Access-Token/),
    });
    const wrong = { ...port, 'e2b-traffic-access-token': e2b.tokens.trafficTokenFor(sandboxId) };
    expect((await fetch(`${e2b.url}/`, { headers: wrong })).status).toBe(403);
    const right = { ...port, 'e2b-traffic-access-token': e2b.tokens.trafficTokenFor(closed) };
    expect((await fetch(`${e2b.url}/`, { headers: right })).status).toBe(501);
  });

  it('says a paused sandbox is not running on /health, and resumes it for a call', async () => {
    const paused = (await e2b.engine.create({})).id;
    await e2b.engine.pause(paused);
    const health = await fetch(`${e2b.url}/health`, { headers: { 'e2b-sandbox-id': paused } });
    expect(health.status).toBe(502);
    const client = clients({ 'e2b-sandbox-id': paused, 'x-access-token': e2b.tokens.tokenFor(paused) });
    expect((await client.process.list({})).processes).toEqual([]);
    expect(e2b.engine.list().find((view) => view.id === paused)?.status).toBe('running');
  });

  it("reaches the code interpreter's port through the runtime, and says when nothing listens there", async () => {
    const served = (await e2b.engine.create({})).id;
    const headers = {
      'e2b-sandbox-id': served,
      'e2b-sandbox-port': '49999',
      'content-type': 'application/json',
    };
    const refused = await fetch(`${e2b.url}/contexts`, { headers });
    expect(refused.status).toBe(502);
    expect(await refused.json()).toMatchObject({
      message: expect.stringMatching(/port 49999.*nothing listens/),
    });
    e2b.runtime.ports.serve(served, 49999, (connection) => {
      let request = '';
      connection.on('data', (chunk: Buffer) => {
        request += chunk.toString();
        if (!request.includes('\r\n\r\n')) return;
        const seen = JSON.stringify({
          line: request.split('\r\n')[0],
          host: /\r\nhost: ([^\r]*)/i.exec(request)?.[1],
        });
        connection.end(
          `HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\nconnection: close\r\n\r\n${seen}\n`,
        );
      });
    });
    const answer = await fetch(`${e2b.url}/contexts?x=1`, { headers });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/x-ndjson');
    // The request arrives as sent, for the port inside (Burrow's routing headers are not passed on).
    expect(await answer.json()).toEqual({ line: 'GET /contexts?x=1 HTTP/1.1', host: '127.0.0.1:49999' });
  });

  it('answers other ports with a clear 501 until preview URLs exist', async () => {
    const answer = await fetch(`${e2b.url}/`, {
      headers: { 'e2b-sandbox-id': sandboxId, 'e2b-sandbox-port': '3000' },
    });
    expect(answer.status).toBe(501);
    expect(await answer.json()).toMatchObject({
      code: 501,
      message: expect.stringMatching(/port 3000.*preview/),
    });
  });
});

describe('process.Process', () => {
  it('streams start, output and end; a failing command ends with its code and error', async () => {
    const { process } = ok();
    const done = await collect(
      process.start({ process: { cmd: 'sh', args: ['-c', 'echo out; echo err >&2'], envs: {} } }),
    );
    expect(done).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 0 });
    expect(done.pid).toBeGreaterThan(0);
    expect(done.error).toBeUndefined();
    const failed = await collect(process.start({ process: { cmd: 'sh', args: ['-c', 'exit 3'], envs: {} } }));
    expect(failed).toMatchObject({ exitCode: 3, error: 'exit status 3' });
    expect(await codeOf(collect(process.start({ process: { cmd: '', args: [], envs: {} } })))).toBe(
      Code.InvalidArgument,
    );
  });

  it('passes env, takes stdin, closes it, and lists running processes with their tags', async () => {
    const { process } = ok();
    const env = await collect(
      process.start({ process: { cmd: 'printenv', args: ['GREETING'], envs: { GREETING: 'hi' } } }),
    );
    expect(env.stdout).toBe('hi\n');
    const events = process.start({ process: { cmd: 'cat', args: [], envs: {} }, tag: 'reader', stdin: true });
    const iterator = events[Symbol.asyncIterator]();
    const first = await iterator.next();
    const pid = first.value?.event?.event.case === 'start' ? first.value.event.event.value.pid : 0;
    const listed = await process.list({});
    expect(listed.processes.find((info) => info.pid === pid)).toMatchObject({
      tag: 'reader',
      config: { cmd: 'cat' },
    });
    await process.sendInput({
      process: { selector: { case: 'pid', value: pid } },
      input: { input: { case: 'stdin', value: Buffer.from('typed') } },
    });
    await process.closeStdin({ process: { selector: { case: 'tag', value: 'reader' } } });
    const rest = await collect({ [Symbol.asyncIterator]: () => iterator });
    expect(rest).toMatchObject({ stdout: 'typed', exitCode: 0 });
    expect(
      await codeOf(
        process.sendInput({
          process: { selector: { case: 'pid', value: 999_999 } },
          input: { input: { case: 'stdin', value: Buffer.from('x') } },
        }),
      ),
    ).toBe(Code.NotFound);
  });

  it('connects to a running process and kills it with SIGKILL', async () => {
    const { process } = ok();
    const events = process.start({ process: { cmd: 'sleep', args: ['30'], envs: {} } });
    const iterator = events[Symbol.asyncIterator]();
    const first = await iterator.next();
    const pid = first.value?.event?.event.case === 'start' ? first.value.event.event.value.pid : 0;
    const attached = collect(process.connect({ process: { selector: { case: 'pid', value: pid } } }));
    const selector = { selector: { case: 'pid' as const, value: pid } };
    expect(await codeOf(process.sendSignal({ process: selector, signal: Signal.UNSPECIFIED }))).toBe(
      Code.InvalidArgument,
    );
    await process.sendSignal({ process: selector, signal: Signal.SIGKILL });
    const seen = await attached;
    expect(seen.pid).toBe(pid);
    expect(seen.exitCode).not.toBe(0);
    await collect({ [Symbol.asyncIterator]: () => iterator });
    // Gone once it exited, as on E2B: a second kill finds nothing.
    expect(await codeOf(process.sendSignal({ process: selector, signal: Signal.SIGKILL }))).toBe(
      Code.NotFound,
    );
  });
});

describe('filesystem.Filesystem and /files', () => {
  it('makes, stats, lists (with depth) and removes; an existing directory is AlreadyExists', async () => {
    const { files } = ok();
    const made = await files.makeDir({ path: '/tmp/fs/a/b' });
    expect(made.entry).toMatchObject({ name: 'b', type: FileType.DIRECTORY, path: '/tmp/fs/a/b' });
    expect(await codeOf(files.makeDir({ path: '/tmp/fs/a/b' }))).toBe(Code.AlreadyExists);
    await e2b.engine.writeFile(sandboxId, '/tmp/fs/a/file.txt', 'hello');
    const stat = await files.stat({ path: '/tmp/fs/a/file.txt' });
    expect(stat.entry).toMatchObject({ name: 'file.txt', type: FileType.FILE, size: 5n });
    expect(stat.entry?.permissions).toMatch(/^-r/);
    const shallow = await files.listDir({ path: '/tmp/fs', depth: 1 });
    expect(shallow.entries.map((entry) => entry.path)).toEqual(['/tmp/fs/a']);
    const deep = await files.listDir({ path: '/tmp/fs', depth: 3 });
    expect(deep.entries.map((entry) => entry.path)).toEqual([
      '/tmp/fs/a',
      '/tmp/fs/a/b',
      '/tmp/fs/a/file.txt',
    ]);
    await files.remove({ path: '/tmp/fs/a/file.txt' });
    expect(await codeOf(files.stat({ path: '/tmp/fs/a/file.txt' }))).toBe(Code.NotFound);
    expect(await codeOf(files.remove({ path: '/tmp/fs/nothing' }))).toBe(Code.NotFound);
  });

  it('watches a directory: start, then events with names relative to it; polling watchers too', async () => {
    const { files } = ok();
    await files.makeDir({ path: '/tmp/watched' });
    const controller = new AbortController();
    const stream = files.watchDir({ path: '/tmp/watched', recursive: true }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.event.case).toBe('start');
    const watcher = await files.createWatcher({ path: '/tmp/watched', recursive: false });
    await e2b.engine.writeFile(sandboxId, '/tmp/watched/new.txt', 'x');
    const next = (await iterator.next()).value?.event;
    expect(next?.case === 'filesystem' && next.value).toMatchObject({
      name: 'new.txt',
      type: EventType.CREATE,
    });
    controller.abort();
    const polled = await files.getWatcherEvents({ watcherId: watcher.watcherId });
    expect(polled.events.map((event) => [event.name, event.type])).toContainEqual([
      'new.txt',
      EventType.CREATE,
    ]);
    await files.removeWatcher({ watcherId: watcher.watcherId });
    expect(await codeOf(files.getWatcherEvents({ watcherId: watcher.watcherId }))).toBe(Code.NotFound);
  });

  it('uploads multipart (filename = path) and raw bodies, downloads, and takes signed URLs', async () => {
    const headers = { 'e2b-sandbox-id': sandboxId, 'x-access-token': token };
    const form = new FormData();
    form.append('file', new Blob(['one']), '/tmp/up/one.txt');
    form.append('file', new Blob(['two']), '/tmp/up/two.txt');
    const multi = await fetch(`${e2b.url}/files`, { method: 'POST', headers, body: form });
    expect(multi.status, await multi.clone().text()).toBe(200);
    expect(await multi.json()).toEqual([
      { name: 'one.txt', type: 'file', path: '/tmp/up/one.txt' },
      { name: 'two.txt', type: 'file', path: '/tmp/up/two.txt' },
    ]);
    const raw = await fetch(`${e2b.url}/files?path=/tmp/up/raw.bin`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: Buffer.from([0, 1, 2, 255]),
    });
    expect(raw.status).toBe(200);
    const read = await fetch(`${e2b.url}/files?path=/tmp/up/raw.bin`, { headers });
    expect(read.status).toBe(200);
    expect(Buffer.from(await read.arrayBuffer())).toEqual(Buffer.from([0, 1, 2, 255]));
    const missing = await fetch(`${e2b.url}/files?path=/tmp/up/none`, { headers });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 404 });
    expect(
      (await fetch(`${e2b.url}/files?path=/tmp/up/one.txt`, { headers: { 'e2b-sandbox-id': sandboxId } }))
        .status,
    ).toBe(401);
    const signature = fileSignature('/tmp/up/one.txt', 'read', '', token);
    const signed = await fetch(
      `${e2b.url}/files?path=/tmp/up/one.txt&signature=${encodeURIComponent(signature)}`,
    );
    expect(signed.status).toBe(200);
    expect(await signed.text()).toBe('one');
    const expired = fileSignature('/tmp/up/one.txt', 'read', '', token, 1000);
    const late = await fetch(
      `${e2b.url}/files?path=/tmp/up/one.txt&signature=${encodeURIComponent(expired)}&signature_expiration=1000`,
      { headers: { 'e2b-sandbox-id': sandboxId } },
    );
    expect(late.status).toBe(401);
    const wrongType = await fetch(`${e2b.url}/files?path=/tmp/x`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/plain' },
      body: 'x',
    });
    expect(wrongType.status).toBe(415);
    const tooBig = await fetch(`${e2b.url}/files?path=/tmp/big`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(1024 * 1024 + 1),
    });
    expect(tooBig.status).toBe(413);
  });
});
