/** The E2B endpoint's small parts: routing, templates, users and paths, file modes, keepalives, watchers. */
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import type { WatchEvent, WatchStream } from '../runtime/runtime.js';
import { AsyncQueue } from '../util/async-queue.js';
import { explicitTarget } from './endpoint.js';
import { modeBits } from './envd/entry.js';
import { KEEPALIVE, withKeepalive } from './envd/keepalive.js';
import { execUser, homeFromPasswd, userFromAuthorization } from './envd/users.js';
import { MAX_QUEUED_EVENTS, MAX_WATCHERS_PER_SANDBOX, Watchers } from './envd/watchers.js';
import { TemplateImages } from './templates.js';
import { startFakeEndpoint } from './test-support/fake-endpoint.js';

function requestWith(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    return isBurrowError(error) ? error.code : String(error);
  }
}

function watchStream(): { stream: WatchStream; queue: AsyncQueue<WatchEvent>; closed: () => boolean } {
  const queue = new AsyncQueue<WatchEvent>();
  let closed = false;
  const stream: WatchStream = {
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    close: () => {
      closed = true;
      queue.end();
      return Promise.resolve();
    },
  };
  return { stream, queue, closed: () => closed };
}

const created = (path: string): WatchEvent => ({
  type: 'event',
  kind: 'create',
  path: Buffer.from(path),
  isDir: false,
});

describe('routing', () => {
  it('reads the sandbox and port from the Host form first, then from the headers', () => {
    expect(explicitTarget(requestWith({ host: '49999-abc123.localhost:8081' }))).toEqual({
      sandboxId: 'abc123',
      port: 49999,
    });
    expect(
      explicitTarget(
        requestWith({ host: '127.0.0.1:8081', 'e2b-sandbox-id': 'abc', 'e2b-sandbox-port': '3000' }),
      ),
    ).toEqual({ sandboxId: 'abc', port: 3000 });
    expect(explicitTarget(requestWith({ 'e2b-sandbox-id': 'abc' }))).toEqual({
      sandboxId: 'abc',
      port: 49983,
    });
    expect(explicitTarget(requestWith({ host: 'api.localhost:8081' }))).toBeUndefined();
    expect(codeOf(() => explicitTarget(requestWith({ host: '70000-abc.localhost' })))).toBe(
      'VALIDATION_FAILED',
    );
    expect(
      codeOf(() => explicitTarget(requestWith({ 'e2b-sandbox-id': 'a', 'e2b-sandbox-port': 'x' }))),
    ).toBe('VALIDATION_FAILED');
  });

  it('says which port is taken when the endpoint cannot listen', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startFakeEndpoint({ port })).rejects.toThrow(
        new RegExp(`127\\.0\\.0\\.1:${port}.*e2b\\.port`),
      );
    } finally {
      blocker.close();
    }
  });
});

describe('templates', () => {
  it('maps base and the code interpreter by default, configured templates on top, and refuses the rest', () => {
    const templates = new TemplateImages('default/image', { base: 'other/image', py: 'python:3.12' });
    expect(templates.image('base')).toBe('other/image');
    expect(templates.image('code-interpreter-v1')).toBe('burrow/code-interpreter:latest');
    expect(templates.image('py')).toBe('python:3.12');
    expect(codeOf(() => templates.image('missing'))).toBe('IMAGE_NOT_FOUND');
    expect(codeOf(() => templates.image('bad template!'))).toBe('VALIDATION_FAILED');
    expect(new TemplateImages('default/image').image('base')).toBe('default/image');
  });
});

describe('users and paths', () => {
  it("maps E2B's users: user is the image's own, others pass, odd names are refused", () => {
    expect(execUser(undefined)).toBeUndefined();
    expect(execUser('user')).toBeUndefined();
    expect(execUser('root')).toBe('root');
    expect(execUser('1000')).toBe('1000');
    expect(codeOf(() => execUser('root; rm -rf /'))).toBe('VALIDATION_FAILED');
    expect(userFromAuthorization(`Basic ${Buffer.from('root:').toString('base64')}`)).toBe('root');
    expect(userFromAuthorization('Bearer x')).toBeUndefined();
    expect(userFromAuthorization(undefined)).toBeUndefined();
  });

  it('finds homes in /etc/passwd by name or uid', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/bash\nbroken line\n';
    expect(homeFromPasswd(passwd, 'user')).toBe('/home/user');
    expect(homeFromPasswd(passwd, '1000')).toBe('/home/user');
    expect(homeFromPasswd(passwd, 'nobody')).toBeUndefined();
  });

  it('turns symbolic modes into permission bits', () => {
    expect(modeBits('-rw-r--r--')).toBe(0o644);
    expect(modeBits('drwxr-xr-x')).toBe(0o755);
    expect(modeBits('-rwsr-sr-t')).toBe(0o7755);
    expect(modeBits('-rwSr-Sr-T')).toBe(0o7644);
  });
});

describe('keepalives', () => {
  it('fills quiet stretches with keepalives and ends when aborted', async () => {
    const queue = new AsyncQueue<string>();
    const controller = new AbortController();
    const seen: (string | typeof KEEPALIVE)[] = [];
    const reading = (async () => {
      for await (const item of withKeepalive(queue, 20, controller.signal)) {
        seen.push(item);
        if (seen.length === 2) queue.push('data');
        if (item === 'data') {
          // Items still waiting are not handed out once aborted.
          queue.push('more');
          controller.abort();
        }
      }
    })();
    await reading;
    expect(seen).toEqual([KEEPALIVE, KEEPALIVE, 'data']);
  });
});

describe('polling watchers', () => {
  it('hands out events since the last poll, and removes', async () => {
    const watchers = new Watchers();
    const { stream, queue, closed } = watchStream();
    const id = watchers.add('box', '/w', stream);
    queue.push(created('/w/a'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(watchers.take('box', id)).toEqual({ root: '/w', events: [created('/w/a')] });
    expect(watchers.take('box', id).events).toEqual([]);
    expect(codeOf(() => watchers.take('other', id))).toBe('FILE_NOT_FOUND');
    await watchers.remove('box', id);
    expect(closed()).toBe(true);
    expect(codeOf(() => watchers.take('box', id))).toBe('FILE_NOT_FOUND');
  });

  it('reports lost events and ended watches once, and bounds watchers per sandbox', async () => {
    const watchers = new Watchers();
    const overflowing = watchStream();
    const lossy = watchers.add('box', '/w', overflowing.stream);
    for (let index = 0; index <= MAX_QUEUED_EVENTS; index += 1)
      overflowing.queue.push(created(`/w/${index}`));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(codeOf(() => watchers.take('box', lossy))).toBe('CONFLICT');
    expect(overflowing.closed()).toBe(true);

    const ending = watchStream();
    const ended = watchers.add('box', '/w', ending.stream);
    ending.queue.end();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(codeOf(() => watchers.take('box', ended))).toBe('FILE_NOT_FOUND');

    const kept = [];
    for (let index = 0; index < MAX_WATCHERS_PER_SANDBOX; index += 1)
      kept.push(watchers.add('full', '/', watchStream().stream));
    const extra = watchStream();
    expect(codeOf(() => watchers.add('full', '/', extra.stream))).toBe('CONFLICT');
    expect(extra.closed()).toBe(true);
    await watchers.closeAll();
  });
});
