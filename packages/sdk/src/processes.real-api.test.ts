/**
 * The SDK's processes, terminals and watches against the server's real API over its in-memory runtime: the wire
 * format and stream protocol as the server implements them (the e2e tests repeat this on Docker).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startApi, type Harness } from '../../server/src/api/test-support/harness.js';
import {
  AbortedError,
  Burrow,
  ConflictError,
  ProcessNotFoundError,
  SandboxNotRunningError,
  ValidationError,
  type ProcessEvent,
  type Sandbox,
  type WatchEvent,
} from './index.js';

let api: Harness;
let burrow: Burrow;
let sandbox: Sandbox;

beforeAll(async () => {
  api = await startApi();
  burrow = new Burrow({ url: api.url, apiKey: API_KEY });
  sandbox = await burrow.create();
});
afterAll(async () => {
  await sandbox.destroy();
  await api.close();
});

describe('sandbox.processes', () => {
  it('starts, lists, gets, waits for and kills a background process', async () => {
    const proc = await sandbox.processes.start('echo ready; sleep 30', { tag: 'server', env: { A: '1' } });
    expect(proc).toMatchObject({ tag: 'server', running: true, pty: false, stdin: false });
    expect(proc.startedAt).toBeInstanceOf(Date);
    expect((await sandbox.processes.list()).map((item) => item.id)).toContain(proc.id);
    expect((await sandbox.processes.get(proc.id)).cmd).toEqual(['sh', '-c', 'echo ready; sleep 30']);
    const still = await sandbox.processes.wait(proc.id, { timeoutMs: 200 });
    expect(still.running).toBe(true);
    expect((await sandbox.processes.output(proc.id)).stdout).toBe('ready\n');
    const killed = await sandbox.processes.kill(proc.id);
    expect(killed).toMatchObject({ running: false, exitCode: 137 });
    expect(killed.endedAt).toBeInstanceOf(Date);
  });

  it('sends input as text and bytes, closes stdin, and reads the output back', async () => {
    const cat = await sandbox.processes.start(['cat'], { stdin: true });
    await sandbox.processes.sendInput(cat.id, 'text ');
    await sandbox.processes.sendInput(cat.id, new Uint8Array([0x62, 0x79, 0x74, 0x65, 0x73]), { eof: true });
    expect(await sandbox.processes.wait(cat.id)).toMatchObject({ running: false, exitCode: 0 });
    expect(await sandbox.processes.output(cat.id, { maxBytes: 5 })).toMatchObject({
      stdout: 'bytes',
      stdoutTruncated: true,
      stderr: '',
      stderrTruncated: false,
    });
  });

  it('signals, and raises typed errors', async () => {
    const sleeper = await sandbox.processes.start(['sleep', '30']);
    await expect(sandbox.processes.sendInput(sleeper.id, 'x')).rejects.toBeInstanceOf(ConflictError);
    await expect(sandbox.processes.resize(sleeper.id, { cols: 80, rows: 24 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(sandbox.processes.signal(sleeper.id, 'SIGBOGUS')).rejects.toBeInstanceOf(ValidationError);
    await sandbox.processes.signal(sleeper.id, 'SIGTERM');
    expect((await sandbox.processes.wait(sleeper.id)).exitCode).toBe(143);
    await expect(sandbox.processes.get('proc_00000000')).rejects.toBeInstanceOf(ProcessNotFoundError);
    await expect(sandbox.processes.attach('proc_00000000')).rejects.toBeInstanceOf(ProcessNotFoundError);
    await expect(sandbox.processes.start(['true'], { pty: { cols: 0, rows: 1 } })).rejects.toBeInstanceOf(
      ValidationError,
    );
    const stopped = await burrow.create();
    await stopped.stop();
    await expect(stopped.processes.list()).rejects.toBeInstanceOf(SandboxNotRunningError);
    await stopped.destroy();
  });

  it('attaches: replay, iteration to the exit, input over the socket', async () => {
    const cat = await sandbox.processes.start(['cat'], { stdin: true });
    const reader = await sandbox.processes.attach(cat.id, { replay: true });
    expect(reader.info).toMatchObject({ id: cat.id, running: true });
    reader.write('over ');
    reader.write(new TextEncoder().encode('the socket'));
    reader.end();
    const events: ProcessEvent[] = [];
    for await (const event of reader) events.push(event);
    expect(events).toEqual([
      { type: 'stdout', data: 'over the socket' },
      { type: 'exit', exitCode: 0, timedOut: false },
    ]);
    expect(await reader.wait()).toEqual({ exitCode: 0, timedOut: false });
    // An exited process: every frame and the close may come with the handshake; none may be lost.
    for (let i = 0; i < 5; i += 1) {
      const late = await sandbox.processes.attach(cat.id, { replay: true });
      const replayed: ProcessEvent[] = [];
      for await (const event of late) replayed.push(event);
      expect(replayed).toEqual(events);
    }
  });

  it('attaches with a callback, reports refused messages, and detaches on abort without killing', async () => {
    const sleeper = await sandbox.processes.start(['sleep', '30']);
    const controller = new AbortController();
    const refused: string[] = [];
    const seen: ProcessEvent[] = [];
    const reader = await sandbox.processes.attach(sleeper.id, {
      signal: controller.signal,
      onEvent: (event) => seen.push(event),
      onRefused: (error) => refused.push(error.code),
    });
    expect(() => reader[Symbol.asyncIterator]()).toThrow(/onEvent/);
    reader.write('no stdin here');
    await expect.poll(() => refused).toEqual(['CONFLICT']);
    controller.abort();
    await expect(reader.wait()).rejects.toBeInstanceOf(AbortedError);
    expect((await sandbox.processes.get(sleeper.id)).running).toBe(true);
    const again = await sandbox.processes.attach(sleeper.id);
    again.kill('SIGKILL');
    expect(await again.wait()).toEqual({ exitCode: 137, timedOut: false });
    expect(seen).toEqual([]);
  });
});

describe('sandbox.pty', () => {
  it('creates a terminal, streams its output as bytes, writes keystrokes, resizes, reconnects', async () => {
    const chunks: Uint8Array[] = [];
    const term = await sandbox.pty.create({
      cmd: ['sh', '-c', 'echo prompt; echo on-stderr >&2; sleep 30'],
      cols: 100,
      rows: 30,
      onData: (data) => chunks.push(data),
    });
    expect(term.id).toMatch(/^proc_/);
    expect(term.info).toMatchObject({ pty: true, stdin: true });
    const text = () => Buffer.concat(chunks).toString();
    await expect.poll(text).toBe('prompt\non-stderr\n');
    term.resize({ cols: 120, rows: 40 });
    await sandbox.pty.resize(term.id, { cols: 90, rows: 20 });
    term.write('\x03');
    term.disconnect();
    await expect(term.wait()).rejects.toBeInstanceOf(AbortedError);

    const again = await sandbox.pty.connect(term.id);
    const replayed: string[] = [];
    const reading = (async () => {
      for await (const bytes of again) replayed.push(Buffer.from(bytes).toString());
    })();
    await again.kill();
    await reading;
    expect(replayed.join('')).toBe('prompt\non-stderr\n');
    expect(await again.wait()).toMatchObject({ exitCode: 137 });
  });
});

describe('commands on a terminal', () => {
  it('streams raw bytes, merges stderr, takes resize, and runs to completion over POST /exec too', async () => {
    const stream = await sandbox.commands.stream(['cat'], { stdin: true, pty: { cols: 80, rows: 24 } });
    stream.resize({ cols: 100, rows: 30 });
    stream.stdin.write('\x1b[A keys');
    stream.stdin.end();
    const bytes: number[] = [];
    for await (const event of stream) if (event.type === 'stdout') bytes.push(...(event.bytes ?? []));
    expect(Buffer.from(bytes).toString()).toBe('\x1b[A keys');
    expect((await stream.wait()).stdout).toBe('\x1b[A keys');
    const run = await sandbox.commands.run('echo out; echo err >&2', { pty: { cols: 80, rows: 24 } });
    expect(run).toMatchObject({ exitCode: 0, stdout: 'out\nerr\n', stderr: '' });
  });
});

describe('sandbox.files.watch', () => {
  it('iterates changes made after it resolved, and ends on close', async () => {
    await sandbox.files.mkdir('/tmp/watched');
    const watch = await sandbox.files.watch('/tmp/watched', { recursive: true });
    await sandbox.files.write('/tmp/watched/a.txt', '1');
    await sandbox.files.mkdir('/tmp/watched/sub');
    await sandbox.files.write('/tmp/watched/sub/b.txt', '2');
    await sandbox.files.remove('/tmp/watched/a.txt');
    const seen: string[] = [];
    for await (const event of watch) {
      if (event.type === 'event') seen.push(`${event.kind} ${event.path}${event.isDir ? '/' : ''}`);
      if (seen.length === 4) watch.close();
    }
    expect(seen).toEqual([
      'create /tmp/watched/a.txt',
      'create /tmp/watched/sub/',
      'create /tmp/watched/sub/b.txt',
      'remove /tmp/watched/a.txt',
    ]);
    await watch.done;
  });

  it('delivers to a callback until aborted; refuses a missing directory with a typed error', async () => {
    await sandbox.files.mkdir('/tmp/cb');
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    const watch = await sandbox.files.watch('/tmp/cb', {
      signal: controller.signal,
      onEvent: (event) => events.push(event),
    });
    await sandbox.files.write('/tmp/cb/x', 'x');
    await expect.poll(() => events.length).toBe(1);
    expect(events[0]).toEqual({ type: 'event', kind: 'create', path: '/tmp/cb/x', isDir: false });
    controller.abort();
    await watch.done;
    await expect(sandbox.files.watch('/tmp/none')).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
    await expect(sandbox.files.watch('/tmp/cb/x')).rejects.toBeInstanceOf(ValidationError);
  });
});
