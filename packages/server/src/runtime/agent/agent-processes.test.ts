/**
 * The real agent's process manager, terminals, watches and connections, on the host (no container), through the
 * same client the Docker runtime uses, on both builds (the shipped one and the one with AddressSanitizer and
 * UBSan) and both ways in (the channel, and `stdio` relaying to init's in-sandbox socket).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessEvent, WatchEvent } from '../runtime.js';
import { AgentClient, DEFAULT_DEADLINES, signalNumber, type AgentChannel } from './agent-client.js';
import { builtAgentBinary } from './agent-binary.js';
import { AgentProcessClient } from './agent-processes.js';
import { AgentChannels } from './channel-listener.js';
import { encodeFrame } from './frames.js';

const SANITIZER_ENV = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};
const builds = [builtAgentBinary(), builtAgentBinary('sanitized')].filter(
  (path): path is string => path !== undefined,
);
if (builds.length === 0) throw new Error('burrow-agent is not built: run packages/server/agent/build.sh');

const dir = mkdtempSync(join(tmpdir(), 'burrow-pm-'));
const stderr: string[] = [];
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(stderr.join('').match(/(Sanitizer|runtime error:).*$/gm) ?? []).toEqual([]);
});

async function untilExit(events: AsyncIterable<ProcessEvent>) {
  let out = '';
  let dropped = 0;
  for await (const event of events) {
    if (event.type === 'stdout' || event.type === 'stderr') out += event.data.toString();
    if (event.type === 'dropped') dropped += event.bytes;
    if (event.type === 'exit') return { out, dropped, exit: event };
  }
  return { out, dropped, exit: undefined };
}

async function next<T>(iterator: AsyncIterator<T>, timeoutMs = 5000): Promise<T> {
  const result = await Promise.race([
    iterator.next(),
    new Promise<never>((_resolve, reject) =>
      setTimeout(() => reject(new Error('no event in time')), timeoutMs),
    ),
  ]);
  if (result.done === true) throw new Error('the stream ended');
  return result.value;
}

for (const binary of builds) {
  for (const way of ['channel', 'stdio'] as const) {
    describe(`the process manager of ${binary.endsWith('sanitized') ? 'the sanitized build' : 'the static build'} over ${way}`, () => {
      let init: ChildProcess;
      let channels: AgentChannels;
      let processes: AgentProcessClient;
      let client: AgentClient;
      const pm = `burrow-test-${randomBytes(6).toString('hex')}`;

      beforeAll(async () => {
        channels = new AgentChannels(join(dir, `ch-${randomBytes(4).toString('hex')}`));
        const channelDir = await channels.listen('pm');
        init = spawn(
          binary,
          ['init', '--channel', join(channelDir, 'agent.sock'), '--pm', pm, '--', 'sleep', '120'],
          {
            stdio: ['ignore', 'ignore', 'pipe'],
            env: SANITIZER_ENV,
          },
        );
        init.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
        const open =
          way === 'channel'
            ? () => channels.open('pm', 5000)
            : (): Promise<AgentChannel> => {
                const child = spawn(binary, ['stdio', '--pm', pm], { env: SANITIZER_ENV });
                child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
                return Promise.resolve({
                  send: (data: Buffer) =>
                    new Promise<void>((resolve, reject) =>
                      child.stdin.write(Buffer.isBuffer(data) ? data : Buffer.concat(data), (error) =>
                        error ? reject(error) : resolve(),
                      ),
                    ),
                  incoming: child.stdout,
                  destroy: () => {
                    child.stdin.destroy();
                    child.stdout.destroy();
                    child.kill();
                  },
                });
              };
        client = new AgentClient(open);
        processes = new AgentProcessClient(client, DEFAULT_DEADLINES);
        await new AgentClient(() => channels.open('pm', 5000)).ping();
      });

      afterAll(() => {
        init.kill('SIGKILL');
        channels.closeAll();
      });

      const id = () => `proc_${randomBytes(8).toString('hex')}`;

      it('starts, lists, attaches with replay, and kills a process tree', async () => {
        const started = await processes.start(
          id(),
          '',
          ['A=1'],
          { cmd: ['sh', '-c', 'echo "hi $A"; sleep 60 & sleep 60'], tag: 't' },
          65536,
        );
        expect(started).toMatchObject({ running: true, tag: 't' });
        expect((await processes.list()).map((info) => info.id)).toContain(started.id);
        const attachment = await processes.attach(started.id, true);
        const iterator = attachment.events[Symbol.asyncIterator]();
        expect(await next(iterator)).toMatchObject({ type: 'stdout' });
        await processes.signal(started.id, signalNumber('SIGKILL'), true);
        const rest = await untilExit({ [Symbol.asyncIterator]: () => iterator });
        expect(rest.exit).toMatchObject({ exitCode: 137 });
        const info = await processes.wait(started.id, 5000);
        expect(info).toMatchObject({ running: false, exitCode: 137 });
      });

      it('passes input and end of input, and refuses input to a process without stdin', async () => {
        const cat = await processes.start(id(), '', [], { cmd: ['cat'], stdin: true }, 65536);
        const reader = await processes.attach(cat.id, false);
        await processes.input(cat.id, Buffer.from('x'.repeat(700_000)), false);
        await processes.input(cat.id, Buffer.from('end\n'), true);
        const result = await untilExit(reader.events);
        // A reader that falls behind the 64 KiB buffer is told what it missed: every byte is one or the other.
        expect(result.out.length + result.dropped).toBe(700_004);
        expect(result.out.endsWith('end\n')).toBe(true);
        expect(result.exit).toMatchObject({ exitCode: 0 });
        const sleeper = await processes.start(id(), '', [], { cmd: ['sleep', '30'] }, 65536);
        await expect(processes.input(sleeper.id, Buffer.from('x'), false)).rejects.toMatchObject({
          code: 'CONFLICT',
        });
        await processes.signal(sleeper.id, signalNumber('SIGTERM'), false);
        expect(await processes.wait(sleeper.id, 5000)).toMatchObject({ exitCode: 143 });
      });

      it('fails a start in a missing directory or as an unknown user, and reports a missing command as 127', async () => {
        await expect(
          processes.start(id(), '', [], { cmd: ['true'], workdir: '/no/such/dir' }, 65536),
        ).rejects.toMatchObject({
          code: 'FILE_NOT_FOUND',
        });
        await expect(processes.start(id(), 'no-such-user', [], { cmd: ['true'] }, 65536)).rejects.toThrow(
          /unable to find user/,
        );
        const missing = await processes.start(id(), '', [], { cmd: ['/no/such/command'] }, 65536);
        const result = await untilExit((await processes.attach(missing.id, true)).events);
        expect(result.exit).toMatchObject({ exitCode: 127 });
        expect(result.out).toContain('burrow: /no/such/command: No such file or directory');
      });

      it('runs on a terminal, resizes it, and times out', async () => {
        const term = await processes.start(
          id(),
          '',
          [],
          { cmd: ['sh', '-c', 'stty size; read x; stty size'], stdin: true, pty: { cols: 80, rows: 24 } },
          65536,
        );
        const reader = await processes.attach(term.id, true);
        const iterator = reader.events[Symbol.asyncIterator]();
        let text = '';
        while (!text.includes('24 80')) {
          const event = await next(iterator);
          if (event.type === 'stdout') text += event.data.toString();
        }
        await processes.resize(term.id, { cols: 100, rows: 50 });
        await processes.input(term.id, Buffer.from('\r'), false);
        const rest = await untilExit({ [Symbol.asyncIterator]: () => iterator });
        expect(rest.out).toContain('50 100');
        const limited = await processes.start(id(), '', [], { cmd: ['sleep', '30'], timeoutMs: 200 }, 65536);
        expect(await processes.wait(limited.id, 5000)).toMatchObject({ exitCode: 124, timedOut: true });
      });

      it('watches a directory recursively, hiding its own temporary files', async () => {
        const root = join(dir, `watch-${randomBytes(4).toString('hex')}`);
        mkdirSync(join(root, 'sub'), { recursive: true });
        const watch = await processes.watch(Buffer.from(root), true);
        const iterator = watch.events[Symbol.asyncIterator]();
        const seen: string[] = [];
        const expectEvent = async (wanted: string) => {
          while (!seen.includes(wanted)) {
            const event: WatchEvent = await next(iterator);
            seen.push(
              event.type === 'event'
                ? `${event.kind} ${event.path.toString().slice(root.length)}`
                : 'overflow',
            );
          }
        };
        writeFileSync(join(root, 'sub', '.a.txt.burrow-1f2e'), 'temp');
        renameSync(join(root, 'sub', '.a.txt.burrow-1f2e'), join(root, 'sub', 'a.txt'));
        await expectEvent('create /sub/a.txt');
        mkdirSync(join(root, 'new'));
        await expectEvent('create /new');
        writeFileSync(join(root, 'new', 'b'), 'b');
        await expectEvent('create /new/b');
        rmSync(join(root, 'sub', 'a.txt'));
        await expectEvent('remove /sub/a.txt');
        expect(seen.filter((line) => line.includes('.burrow-'))).toEqual([]);
        watch.close();
      });

      it('connects to a TCP port and relays both ways', async () => {
        const server: Server = createServer((socket) => socket.pipe(socket));
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const port = (server.address() as { port: number }).port;
        try {
          const { channel, reader } = await processes.connect('127.0.0.1', port);
          await channel.send(encodeFrame('d', Buffer.from('ping')));
          const frame = await reader.next(5000);
          expect(frame.type).toBe('d');
          expect(frame.payload.toString()).toBe('ping');
          await channel.send(encodeFrame('e'));
          expect((await reader.next(5000)).type).toBe('e');
          channel.destroy();
          const refused = processes.connect('127.0.0.1', 1);
          await expect(refused).rejects.toMatchObject({ code: 'PORT_NOT_LISTENING' });
        } finally {
          server.close();
        }
      });
    });
  }
}
