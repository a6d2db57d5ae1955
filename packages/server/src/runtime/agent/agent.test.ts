/**
 * The real burrow-agent binary, run on the host (no container): its protocol, exec semantics and file operations,
 * through the same client the Docker runtime uses. Container-level behaviour is covered by the docker tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecEvent } from '../runtime.js';
import { AgentClient, type AgentChannel, type AgentExecRequest } from './agent-client.js';
import { builtAgentBinary } from './agent-binary.js';
import { AgentChannels } from './channel-listener.js';

const binary = builtAgentBinary();
if (binary === undefined) throw new Error('burrow-agent is not built: run packages/server/agent/build.sh');
const agentPath: string = binary;
const sanitizedBinary = builtAgentBinary('sanitized');
if (sanitizedBinary === undefined && process.env.CI === 'true') {
  throw new Error('burrow-agent-sanitized is not built: the build needs gcc with libasan and libubsan');
}

/** Both builds run the same tests: the shipped static one, and the one with AddressSanitizer and UBSan. */
const BUILDS: [string, string][] = [
  ['static', agentPath],
  ...(sanitizedBinary === undefined ? [] : [['sanitized', sanitizedBinary] as [string, string]]),
];

/** Sanitizer options: abort on the first finding; leaks are not checked (handlers end with _exit by design). */
const SANITIZER_ENV = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};

/** Everything the agents under test wrote to stderr: a sanitizer report there fails the run. */
const agentStderr: string[] = [];

function watchStderr(child: ChildProcess): void {
  child.stderr?.on('data', (chunk: Buffer) => agentStderr.push(chunk.toString()));
}

/** One `burrow-agent stdio` process per request, like `docker exec` runs it. */
function stdioChannel(path: string): Promise<AgentChannel> {
  const child = spawn(path, ['stdio'], { stdio: ['pipe', 'pipe', 'pipe'], env: SANITIZER_ENV });
  watchStderr(child);
  return Promise.resolve({
    send: (data) =>
      new Promise<void>((resolve, reject) =>
        child.stdin.write(Buffer.isBuffer(data) ? data : Buffer.concat(data), (error) =>
          error ? reject(error) : resolve(),
        ),
      ),
    incoming: child.stdout,
    destroy: () => {
      child.stdin.destroy();
      child.stdout.destroy();
    },
  });
}

async function collect(events: AsyncIterable<ExecEvent>) {
  let stdout = '';
  let stderr = '';
  for await (const event of events) {
    if (event.type === 'stdout') stdout += event.data.toString();
    else if (event.type === 'stderr') stderr += event.data.toString();
    else return { stdout, stderr, exitCode: event.exitCode, timedOut: event.timedOut };
  }
  throw new Error('exec ended without an exit event');
}

function request(cmd: string[], extra: Partial<AgentExecRequest> = {}): AgentExecRequest {
  return { cmd, env: [], workdir: '', user: '', timeoutMs: 0, withStdin: false, ...extra };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-agent-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  const reports = agentStderr.join('').match(/(Sanitizer|runtime error:).*$/gm);
  expect(reports ?? []).toEqual([]);
});

for (const [build, path] of BUILDS)
  for (const transport of ['stdio', 'socket'] as const) {
    describe(`burrow-agent (${build}) over ${transport}`, () => {
      let client: AgentClient;
      let init: ChildProcess | undefined;

      beforeAll(async () => {
        if (transport === 'stdio') {
          client = new AgentClient(() => stdioChannel(path));
          return;
        }
        const channels = new AgentChannels(join(dir, `channels-${build}`));
        const channelDir = await channels.listen('hostagent');
        init = spawn(
          path,
          [
            'init',
            '--channel',
            join(channelDir, 'agent.sock'),
            '--pm',
            `burrow-test-${build}-${process.pid}`,
          ],
          {
            stdio: ['ignore', 'inherit', 'pipe'],
            env: SANITIZER_ENV,
          },
        );
        watchStderr(init);
        client = new AgentClient(() => channels.open('hostagent', 5000));
      });
      afterAll(() => {
        init?.kill('SIGTERM');
      });

      it('answers a ping with its version', async () => {
        expect(await client.ping()).toMatch(/^\d+$/);
      });

      it('runs argv without a shell, with env, workdir, and the exit code', async () => {
        const result = await collect(
          (
            await client.exec(
              request(['sh', '-c', 'echo "$GREETING $1"; pwd; echo oops >&2; exit 3', 'sh', 'a $(b)'], {
                env: ['GREETING=hello', 'GREETING=hi'],
                workdir: dir,
              }),
            )
          ).events,
        );
        expect(result).toEqual({
          stdout: `hi a $(b)\n${dir}\n`,
          stderr: 'oops\n',
          exitCode: 3,
          timedOut: false,
        });
      });

      it('reports an argv[0] longer than its message buffer without sending stack bytes', async () => {
        const name = `/nonexistent/${'x'.repeat(6000)}`;
        const result = await collect((await client.exec(request([name]))).events);
        expect(result.exitCode).toBe(126); // ENAMETOOLONG
        expect(result.stderr.length).toBeLessThan(4200);
        // The message is cut inside the name: nothing after it but the name's own bytes.
        expect(result.stderr).toMatch(/^burrow: \/nonexistent\/x+$/);
      });

      it('reports a missing command as 127 and a non-executable one as 126', async () => {
        const missing = await collect((await client.exec(request(['no-such-command-xyz']))).events);
        expect(missing.exitCode).toBe(127);
        expect(missing.stderr).toBe('burrow: no-such-command-xyz: No such file or directory\n');
        const file = join(dir, 'not-executable');
        writeFileSync(file, 'data');
        const denied = await collect((await client.exec(request([file]))).events);
        expect(denied.exitCode).toBe(126);
      });

      it('fails a missing working directory with FILE_NOT_FOUND', async () => {
        await expect(
          (async () =>
            collect((await client.exec(request(['true'], { workdir: join(dir, 'nope') }))).events))(),
        ).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
      });

      it('kills the whole process tree at the timeout, daemonised children included', async () => {
        const marker = join(dir, `escaped-${build}-${transport}`);
        const started = Date.now();
        const result = await collect(
          (
            await client.exec(
              request(['sh', '-c', `(setsid sh -c 'sleep 1; touch ${marker}' &) ; sleep 30`], {
                timeoutMs: 300,
              }),
            )
          ).events,
        );
        expect(result.exitCode).toBe(124);
        expect(result.timedOut).toBe(true);
        expect(Date.now() - started).toBeLessThan(5000);
        await sleep(1500);
        expect(existsSync(marker)).toBe(false);
      });

      it('streams stdin to the process and closes it on request', async () => {
        const process = await client.exec(
          request(['sh', '-c', 'wc -c; cat >/dev/null; echo done'], { withStdin: true }),
        );
        const payload = randomBytes(3 * 1024 * 1024);
        await process.writeStdin(payload);
        await process.endStdin();
        const result = await collect(process.events);
        expect(result.stdout.trim().split('\n')).toEqual([String(payload.length), 'done']);
      });

      it('delivers a signal to the process group', async () => {
        const process = await client.exec(
          request(['sh', '-c', 'trap "echo got-int; exit 7" INT; echo ready; sleep 20 & wait']),
        );
        const iterator = process.events[Symbol.asyncIterator]();
        const first = await iterator.next();
        expect(first.value).toMatchObject({ type: 'stdout' });
        await process.signal('SIGINT');
        let stdout = '';
        let exit: ExecEvent | undefined;
        for (;;) {
          const next = await iterator.next();
          if (next.done === true) break;
          if (next.value.type === 'stdout') stdout += next.value.data.toString();
          if (next.value.type === 'exit') exit = next.value;
        }
        expect(stdout).toContain('got-int');
        expect(exit).toMatchObject({ exitCode: 7 });
      });

      it('reports death by signal as 128 + signal', async () => {
        const result = await collect((await client.exec(request(['sh', '-c', 'kill -TERM $$']))).events);
        expect(result.exitCode).toBe(143);
      });

      it('relays large output completely', async () => {
        const process = await client.exec(request(['sh', '-c', 'head -c 10485760 /dev/zero']));
        let bytes = 0;
        for await (const event of process.events) if (event.type === 'stdout') bytes += event.data.length;
        expect(bytes).toBe(10 * 1024 * 1024);
      });

      it('writes and reads back arbitrary bytes through a streamed write', async () => {
        const path = join(dir, transport, 'nested dir', `it's "$(odd)"\nname.bin`);
        const data = randomBytes(5 * 1024 * 1024 + 17);
        async function* chunks() {
          for (let offset = 0; offset < data.length; offset += 700_000)
            yield data.subarray(offset, offset + 700_000);
        }
        const { bytes } = await client.writeFile('', Buffer.from(path), 0o640, chunks());
        expect(bytes).toBe(data.length);
        expect(readFileSync(path).equals(data)).toBe(true);
        expect(statSync(path).mode & 0o777).toBe(0o640);
        const { info, body } = await client.readFile('', Buffer.from(path));
        expect(info.size).toBe(data.length);
        const parts: Buffer[] = [];
        for await (const part of body as Readable) parts.push(part as Buffer);
        expect(Buffer.concat(parts).equals(data)).toBe(true);
      });

      it('keeps an existing file untouched when the writer goes away, and keeps its mode on overwrite', async () => {
        const path = join(dir, `${build}-${transport}-keep.txt`);
        writeFileSync(path, 'original', { mode: 0o600 });
        await client.writeFile('', Buffer.from(path), 0o644, 'replaced');
        expect(readFileSync(path, 'utf8')).toBe('replaced');
        expect(statSync(path).mode & 0o777).toBe(0o600);
        async function* failing(): AsyncGenerator<Uint8Array> {
          yield Buffer.from('partial');
          throw new Error('client died');
        }
        await expect(client.writeFile('', Buffer.from(path), 0o644, failing())).rejects.toThrow(
          'client died',
        );
        await sleep(200);
        expect(readFileSync(path, 'utf8')).toBe('replaced');
      });

      it('lists, stats (symlinks as such), makes and removes directories', async () => {
        const root = join(dir, `${build}-${transport}-tree`);
        await client.mkdir('', Buffer.from(join(root, 'a', 'b')));
        await client.mkdir('', Buffer.from(join(root, 'a', 'b')));
        writeFileSync(join(root, 'a', 'file'), '12345');
        symlinkSync('/etc/shadow', join(root, 'a', 'link'));
        const entries = (await client.list('', Buffer.from(join(root, 'a')), 1000)).entries;
        const byName = Object.fromEntries(entries.map((entry) => [entry.name, entry]));
        expect(Object.keys(byName).sort()).toEqual(['b', 'file', 'link']);
        expect(byName.b).toMatchObject({ isDir: true, mode: 'drwxr-xr-x' });
        expect(byName.file).toMatchObject({ isDir: false, size: 5, path: join(root, 'a', 'file') });
        expect(byName.link).toMatchObject({ isSymlink: true, linkTarget: '/etc/shadow' });
        const linkInfo = await client.stat('', Buffer.from(join(root, 'a', 'link')));
        expect(linkInfo.isSymlink).toBe(true);
        await expect(client.mkdir('', Buffer.from(join(root, 'a', 'file')))).rejects.toMatchObject({
          code: 'ALREADY_EXISTS',
        });
        await expect(client.list('', Buffer.from(join(root, 'a', 'file')), 1000)).rejects.toMatchObject({
          code: 'NOT_A_DIRECTORY',
        });
        await expect(client.readFile('', Buffer.from(join(root, 'a')))).rejects.toMatchObject({
          code: 'IS_A_DIRECTORY',
        });
        await client.remove('', Buffer.from(join(root, 'a')));
        expect(existsSync(join(root, 'a'))).toBe(false);
        expect(existsSync('/etc/shadow')).toBe(true);
        await expect(client.remove('', Buffer.from(join(root, 'a')))).rejects.toMatchObject({
          code: 'FILE_NOT_FOUND',
        });
        await expect(client.stat('', Buffer.from(join(root, 'missing')))).rejects.toMatchObject({
          code: 'FILE_NOT_FOUND',
        });
      });

      it('archives a tree and unpacks it elsewhere with modes, links and times', async () => {
        const source = join(dir, `${build}-${transport}-archive-src`);
        mkdirSync(join(source, 'sub', 'deeper'), { recursive: true });
        writeFileSync(join(source, 'sub', 'deeper', 'big.bin'), randomBytes(3 * 1024 * 1024));
        writeFileSync(join(source, 'script.sh'), '#!/bin/sh\n', { mode: 0o750 });
        symlinkSync('sub/deeper/big.bin', join(source, 'link'));
        const archive = await client.archive(Buffer.from(source));
        const target = join(dir, `${build}-${transport}-archive-dst`);
        const entries = await client.unpack(Buffer.from(target), archive as AsyncIterable<Uint8Array>);
        expect(entries).toBe(5);
        expect(
          readFileSync(join(target, 'sub', 'deeper', 'big.bin')).equals(
            readFileSync(join(source, 'sub', 'deeper', 'big.bin')),
          ),
        ).toBe(true);
        expect(statSync(join(target, 'script.sh')).mode & 0o777).toBe(0o750);
        expect(lstatSync(join(target, 'link')).isSymbolicLink()).toBe(true);
        expect(Math.floor(statSync(join(target, 'sub')).mtimeMs / 1000)).toBe(
          Math.floor(statSync(join(source, 'sub')).mtimeMs / 1000),
        );
      });

      it('refuses an archive entry that climbs out of the target', async () => {
        const record = Buffer.concat([
          Buffer.from('F'),
          u32(0o644),
          u32(0),
          u32(0),
          Buffer.alloc(8),
          u32(9),
          Buffer.from('../escape'),
          Buffer.alloc(8),
          Buffer.from('E'),
        ]);
        const target = join(dir, `${build}-${transport}-evil`);
        await expect(client.unpack(Buffer.from(target), Readable.from([record]))).rejects.toMatchObject({
          code: 'BAD_REQUEST',
        });
        expect(existsSync(join(dir, 'escape'))).toBe(false);
      });

      it('runs requests as another user resolved from /etc/passwd', async () => {
        const result = await collect((await client.exec(request(['id', '-u'], { user: 'nobody' }))).events);
        expect(result.stdout.trim()).toBe('65534');
        await expect(
          (async () => collect((await client.exec(request(['id'], { user: 'no-such-user' }))).events))(),
        ).rejects.toThrow(/unable to find user no-such-user/);
      });
    });
  }

describe('burrow-agent init', () => {
  it('runs the main process and exits with its status, without a channel', async () => {
    const init = spawn(agentPath, ['init', '--', 'sh', '-c', 'sleep 0.5; exit 5']);
    const code = await new Promise<number | null>((resolve) => init.on('exit', resolve));
    expect(code).toBe(5);
  });

  it('forwards SIGTERM to the main process', async () => {
    const init = spawn(agentPath, ['init', '--', 'sleep', '30']);
    await sleep(200);
    init.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => init.on('exit', resolve));
    expect(code).toBe(143);
  });

  it('connects out to the server, keeps two idle connections, and reconnects after the server restarts', async () => {
    const channels = new AgentChannels(join(dir, 'restart'));
    const channelDir = await channels.listen('sbx');
    expect(statSync(channelDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(channelDir, 'agent.sock')).mode & 0o777).toBe(0o600);
    const init = spawn(agentPath, [
      'init',
      '--channel',
      join(channelDir, 'agent.sock'),
      '--pm',
      `burrow-restart-${process.pid}`,
      '--',
      'sleep',
      '30',
    ]);
    try {
      expect(await new AgentClient(() => channels.open('sbx', 5000)).ping()).toBe('2');
      // The server goes away (every connection drops) and a new one listens at the same path.
      channels.closeAll();
      const again = new AgentChannels(join(dir, 'restart'));
      await again.listen('sbx');
      expect(await new AgentClient(() => again.open('sbx', 5000)).ping()).toBe('2');
      again.closeAll();
    } finally {
      init.kill('SIGKILL');
    }
  });

  it('refuses a user spec longer than it can hold instead of truncating it', async () => {
    const init = spawn(agentPath, ['init', '--user', 'x'.repeat(600), '--', 'true'], { stdio: 'pipe' });
    let stderr = '';
    init.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // 'close', not 'exit': the process can be gone before its stderr has been read.
    const code = await new Promise<number | null>((resolve) => init.on('close', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/longer than 511 bytes/);
  });
});

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32BE(value);
  return buffer;
}
