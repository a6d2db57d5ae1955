/**
 * The interactive part of the Runtime contract: background processes, terminals and file watching. Each backend's
 * test file runs it; a path that cannot offer processes or watches must say NOT_SUPPORTED (never pretend), and the
 * checks that need a real shell (a terminal's size seen by `stty`, `tty` itself) run only where `realShell` is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSandboxId } from '../ids.js';
import { expectCode, type ContractTarget } from './contract.test-suite.js';
import type { ProcessEvent, ProcessInfo, Runtime, WatchEvent } from './runtime.js';

export interface InteractiveTarget extends ContractTarget {
  /** Background processes, terminals and watches work on this path (else they must be NOT_SUPPORTED). */
  processes: boolean;
  /** The image has a real shell and coreutils (stty, tty), not only the fake's few commands. */
  realShell: boolean;
  /** Starts a TCP echo server on `port` inside sandbox `id` (a process of the image, or the fake's port server). */
  serveEcho?: (runtime: Runtime, id: string, port: number) => Promise<void>;
}

/** An echo server for images with busybox (`nc -ll`) or with python3 (Debian). */
export function echoServer(
  kind: 'busybox' | 'python',
): (runtime: Runtime, id: string, port: number) => Promise<void> {
  return async (runtime, id, port) => {
    const cmd =
      kind === 'busybox'
        ? ['nc', '-ll', '-p', String(port), '-e', 'cat']
        : [
            'python3',
            '-c',
            'import socket,sys,threading\n' +
              's=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n' +
              's.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()\n' +
              'def serve(c):\n  while (d := c.recv(65536)): c.sendall(d)\n  c.close()\n' +
              'while True:\n  c,_=s.accept(); threading.Thread(target=serve, args=(c,)).start()\n',
            String(port),
          ];
    await runtime.startProcess(id, { cmd, tag: `echo-${port}` });
    // Until it listens: a connection that is refused says so at once.
    for (let attempt = 0; attempt < 100; attempt += 1) {
      try {
        (await runtime.connectPort(id, port)).destroy();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`the echo server on port ${port} did not start`);
  };
}

async function collectUntilExit(events: AsyncIterable<ProcessEvent>) {
  let stdout = '';
  let stderr = '';
  const dropped: ProcessEvent[] = [];
  for await (const event of events) {
    if (event.type === 'stdout') stdout += event.data.toString();
    else if (event.type === 'stderr') stderr += event.data.toString();
    else if (event.type === 'dropped') dropped.push(event);
    else return { stdout, stderr, dropped, exit: event };
  }
  return { stdout, stderr, dropped, exit: undefined };
}

/** Reads events until `predicate` holds for one (or the time runs out). */
async function readUntil<T>(
  iterable: AsyncIterable<T>,
  predicate: (event: T) => boolean,
  timeoutMs = 10_000,
): Promise<T[]> {
  const seen: T[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out; saw ${JSON.stringify(seen)}`);
    const next = await Promise.race([
      iterator.next(),
      new Promise<IteratorResult<T>>((_resolve, reject) =>
        setTimeout(() => reject(new Error(`timed out; saw ${JSON.stringify(seen)}`)), left),
      ),
    ]);
    if (next.done === true) throw new Error(`ended early; saw ${JSON.stringify(seen)}`);
    seen.push(next.value);
    if (predicate(next.value)) return seen;
  }
}

function watchPath(event: WatchEvent): string {
  return event.type === 'event' ? `${event.kind} ${event.path.toString()}` : 'overflow';
}

async function waitExited(runtime: Runtime, id: string, processId: string): Promise<ProcessInfo> {
  const info = await runtime.waitProcess(id, processId, 20_000);
  expect(info.running).toBe(false);
  return info;
}

export function runInteractiveContract(name: string, makeTarget: () => Promise<InteractiveTarget>): void {
  describe(`Runtime contract, interactive: ${name}`, () => {
    let target: InteractiveTarget;
    let runtime: Runtime;
    let id: string;

    beforeAll(async () => {
      target = await makeTarget();
      runtime = target.runtime;
      id = newSandboxId();
      await runtime.create(id, { image: target.image, ...target.defaults });
      await runtime.start(id);
    });

    afterAll(async () => {
      if (runtime === undefined) return;
      await runtime.remove(id);
      await target.cleanup?.();
    });

    describe('terminals on exec', () => {
      it('says NOT_SUPPORTED for a terminal where the path cannot give one', async () => {
        if (target.processes) return;
        await expectCode(runtime.exec(id, { cmd: ['true'], pty: { cols: 80, rows: 24 } }), 'NOT_SUPPORTED');
      });

      it('merges stdout and stderr on a terminal and takes a resize', async () => {
        if (!target.processes) return;
        const stream = await runtime.execStream(id, {
          cmd: ['sh', '-c', 'echo out; echo err >&2'],
          pty: { cols: 100, rows: 30 },
        });
        await stream.resize({ cols: 120, rows: 40 });
        let stdout = '';
        let stderr = '';
        for await (const event of stream) {
          if (event.type === 'stdout') stdout += event.data.toString();
          if (event.type === 'stderr') stderr += event.data.toString();
        }
        expect(stdout.replace(/\r/g, '')).toContain('out\n');
        expect(stdout.replace(/\r/g, '')).toContain('err\n');
        expect(stderr).toBe('');
      });

      it('refuses a resize of a stream without a terminal, and sizes out of range', async () => {
        if (!target.processes) return;
        const stream = await runtime.execStream(id, { cmd: ['sleep', '5'] });
        await expectCode(stream.resize({ cols: 80, rows: 24 }), 'CONFLICT');
        await stream.close();
        await expectCode(
          runtime.exec(id, { cmd: ['true'], pty: { cols: 0, rows: 24 } }),
          'VALIDATION_FAILED',
        );
      });

      it('gives the process a real controlling terminal of the asked size (real shells)', async () => {
        if (!target.processes || !target.realShell) return;
        const stream = await runtime.execStream(id, {
          cmd: ['sh', '-c', 'tty; stty size; read line; stty size; echo "got $line"'],
          pty: { cols: 91, rows: 17 },
          openStdin: true,
        });
        const seen = await readUntil(
          stream,
          (event) => event.type === 'stdout' && event.data.toString().includes('17 91'),
        );
        expect(seen.map((event) => (event.type === 'stdout' ? event.data.toString() : '')).join('')).toMatch(
          /\/dev\/pts\/\d+/,
        );
        await stream.resize({ cols: 132, rows: 43 });
        await stream.stdin.write('hello\r');
        let text = '';
        for await (const event of stream) if (event.type === 'stdout') text += event.data.toString();
        expect(text).toContain('43 132');
        expect(text).toContain('got hello');
      });
    });

    describe('background processes', () => {
      it('says NOT_SUPPORTED where the path cannot keep processes', async () => {
        if (target.processes) return;
        await expectCode(runtime.startProcess(id, { cmd: ['sleep', '1'] }), 'NOT_SUPPORTED');
        await expectCode(runtime.listProcesses(id), 'NOT_SUPPORTED');
        await expectCode(runtime.watch(id, '/tmp'), 'NOT_SUPPORTED');
      });

      it('start, list, get, attach with replay, kill: the process outlives its readers', async () => {
        if (!target.processes) return;
        const started = await runtime.startProcess(id, {
          cmd: ['sh', '-c', 'echo hello; echo oops >&2; sleep 30'],
          tag: 'dev-server',
        });
        expect(started).toMatchObject({ running: true, tag: 'dev-server', pty: false, stdin: false });
        expect(started.id).toMatch(/^proc_[0-9a-f]+$/);
        expect(started.pid).toBeGreaterThan(0);
        expect((await runtime.listProcesses(id)).map((info) => info.id)).toContain(started.id);
        expect((await runtime.getProcess(id, started.id)).cmd).toEqual([
          'sh',
          '-c',
          'echo hello; echo oops >&2; sleep 30',
        ]);
        // A first reader replays what was printed, then leaves; the process keeps running.
        const first = await runtime.attachProcess(id, started.id, { replay: true });
        const seen = await readUntil(first, (event) => event.type === 'stderr');
        expect(
          seen
            .filter((event) => event.type === 'stdout')
            .map((event) => (event as { data: Buffer }).data.toString())
            .join(''),
        ).toBe('hello\n');
        await first.close();
        expect((await runtime.getProcess(id, started.id)).running).toBe(true);
        // Two readers at once both see the end.
        const a = await runtime.attachProcess(id, started.id);
        const b = await runtime.attachProcess(id, started.id);
        await runtime.killProcess(id, started.id);
        const [endA, endB] = await Promise.all([collectUntilExit(a), collectUntilExit(b)]);
        expect(endA.exit).toMatchObject({ exitCode: 137, timedOut: false });
        expect(endB.exit).toMatchObject({ exitCode: 137 });
        const info = await waitExited(runtime, id, started.id);
        expect(info.exitCode).toBe(137);
        expect(info.endedAt).toBeInstanceOf(Date);
        // A finished process's output and exit code stay available.
        const late = await collectUntilExit(await runtime.attachProcess(id, started.id, { replay: true }));
        expect(late.stdout).toBe('hello\n');
        expect(late.stderr).toBe('oops\n');
        expect(late.exit).toMatchObject({ exitCode: 137 });
      });

      it('takes input and end of input', async () => {
        if (!target.processes) return;
        const started = await runtime.startProcess(id, { cmd: ['cat'], stdin: true });
        expect(started.stdin).toBe(true);
        const reader = await runtime.attachProcess(id, started.id);
        await runtime.sendProcessInput(id, started.id, Buffer.from('abc\n'));
        if (target.realShell) {
          // A real cat answers each line while its input is still open.
          await readUntil(
            reader,
            (event) => event.type === 'stdout' && event.data.toString().includes('abc'),
          );
        }
        await runtime.sendProcessInput(id, started.id, Buffer.from('def\n'), { eof: true });
        const rest = await collectUntilExit(reader);
        expect(rest.exit).toMatchObject({ exitCode: 0 });
        expect(rest.stdout).toContain('def\n');
        // End of input alone, with nothing queued, closes stdin too.
        const second = await runtime.startProcess(id, { cmd: ['cat'], stdin: true });
        const secondReader = await runtime.attachProcess(id, second.id);
        await runtime.sendProcessInput(id, second.id, Buffer.alloc(0), { eof: true });
        expect((await collectUntilExit(secondReader)).exit).toMatchObject({ exitCode: 0 });
        const withoutStdin = await runtime.startProcess(id, { cmd: ['sleep', '30'] });
        await expectCode(runtime.sendProcessInput(id, withoutStdin.id, Buffer.from('x')), 'CONFLICT');
        await runtime.killProcess(id, withoutStdin.id);
      });

      it('kills a process blocked reading its open stdin', async () => {
        if (!target.processes) return;
        const started = await runtime.startProcess(id, { cmd: ['cat'], stdin: true });
        await runtime.killProcess(id, started.id);
        expect(await waitExited(runtime, id, started.id)).toMatchObject({ exitCode: 137 });
      });

      it('keeps a bounded replay buffer and says how much output fell out of it', async () => {
        if (!target.processes) return;
        const started = await runtime.startProcess(id, {
          cmd: ['head', '-c', '300000', '/dev/zero'],
          bufferBytes: 65536,
        });
        const info = await waitExited(runtime, id, started.id);
        expect(info.exitCode).toBe(0);
        expect(info.outputDropped.stdout).toBe(300000 - 65536);
        const replay = await collectUntilExit(await runtime.attachProcess(id, started.id, { replay: true }));
        expect(replay.dropped).toEqual([{ type: 'dropped', stream: 'stdout', bytes: 300000 - 65536 }]);
        expect(replay.stdout.length).toBe(65536);
      });

      it('waits with a deadline, signals, and times out as exec does', async () => {
        if (!target.processes) return;
        const sleeper = await runtime.startProcess(id, { cmd: ['sleep', '30'] });
        const started = Date.now();
        expect((await runtime.waitProcess(id, sleeper.id, 300)).running).toBe(true);
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        await runtime.signalProcess(id, sleeper.id, 'SIGTERM');
        expect((await waitExited(runtime, id, sleeper.id)).exitCode).toBe(143);
        const limited = await runtime.startProcess(id, { cmd: ['sleep', '30'], timeoutMs: 300 });
        const timedOut = await waitExited(runtime, id, limited.id);
        expect(timedOut).toMatchObject({ exitCode: 124, timedOut: true });
      });

      it('names processes it does not know PROCESS_NOT_FOUND', async () => {
        if (!target.processes) return;
        await expectCode(runtime.getProcess(id, 'proc_00000000'), 'PROCESS_NOT_FOUND');
        await expectCode(runtime.attachProcess(id, 'proc_00000000'), 'PROCESS_NOT_FOUND');
        await expectCode(runtime.killProcess(id, 'not-an-id'), 'PROCESS_NOT_FOUND');
      });

      it('runs a process on a terminal and resizes it (real shells)', async () => {
        if (!target.processes || !target.realShell) return;
        const started = await runtime.startProcess(id, {
          cmd: ['sh', '-c', 'stty size; read x; stty size'],
          pty: { cols: 80, rows: 24 },
          stdin: true,
        });
        expect(started.pty).toBe(true);
        const reader = await runtime.attachProcess(id, started.id, { replay: true });
        await readUntil(
          reader,
          (event) => event.type === 'stdout' && event.data.toString().includes('24 80'),
        );
        await runtime.resizeProcess(id, started.id, { cols: 100, rows: 50 });
        await runtime.sendProcessInput(id, started.id, Buffer.from('\r'));
        const rest = await collectUntilExit(reader);
        expect(rest.stdout).toContain('50 100');
      });
    });

    describe('connections into the sandbox', () => {
      it("reaches a port inside from the sandbox's own network, both ways, and says when nothing listens", async () => {
        if (!target.processes) {
          await expectCode(runtime.connectPort(id, 8123), 'NOT_SUPPORTED');
          return;
        }
        await expectCode(runtime.connectPort(id, 8123), 'PORT_NOT_LISTENING');
        await expectCode(runtime.connectPort(id, 0), 'VALIDATION_FAILED');
        await target.serveEcho?.(runtime, id, 8123);
        const socket = await runtime.connectPort(id, 8123);
        const received: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        const payload = Buffer.alloc(300_000, 7);
        socket.write(payload);
        const deadline = Date.now() + 10_000;
        while (Buffer.concat(received).length < payload.length && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(Buffer.concat(received).equals(payload)).toBe(true);
        socket.destroy();
      });
    });

    describe('file watching', () => {
      it('reports creates, writes and removes under a directory, recursively when asked', async () => {
        if (!target.processes) return;
        await runtime.mkdir(id, '/tmp/watched');
        const flat = await runtime.watch(id, '/tmp/watched');
        const deep = await runtime.watch(id, '/tmp/watched', { recursive: true });
        await runtime.writeFile(id, '/tmp/watched/a.txt', 'one');
        await readUntil(flat, (event) => watchPath(event) === 'create /tmp/watched/a.txt');
        await runtime.mkdir(id, '/tmp/watched/sub');
        await readUntil(flat, (event) => watchPath(event) === 'create /tmp/watched/sub');
        await readUntil(deep, (event) => watchPath(event) === 'create /tmp/watched/sub');
        await runtime.writeFile(id, '/tmp/watched/sub/deep.txt', 'two');
        await readUntil(deep, (event) => watchPath(event) === 'create /tmp/watched/sub/deep.txt');
        await runtime.removeFile(id, '/tmp/watched/a.txt');
        // The flat watch sees the remove next, never the nested file.
        const flatSeen = await readUntil(flat, (event) => watchPath(event) === 'remove /tmp/watched/a.txt');
        expect(flatSeen.map(watchPath)).not.toContain('create /tmp/watched/sub/deep.txt');
        // A name that is not UTF-8 arrives as its bytes.
        const raw = Buffer.from('/tmp/watched/\xff.bin', 'latin1');
        await runtime.writeFile(id, raw, 'x');
        const rawSeen = await readUntil(flat, (event) => event.type === 'event' && event.path.equals(raw));
        expect(rawSeen.at(-1)).toMatchObject({ kind: 'create' });
        await flat.close();
        await deep.close();
        await expectCode(runtime.watch(id, '/tmp/watched/sub/deep.txt'), 'NOT_A_DIRECTORY');
        await expectCode(runtime.watch(id, '/tmp/nowhere'), 'FILE_NOT_FOUND');
      });
    });
  });
}
