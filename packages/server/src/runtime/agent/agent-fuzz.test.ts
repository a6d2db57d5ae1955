/**
 * Malformed, truncated, oversized and random frames thrown at the real agent (both the shipped build and the one
 * with AddressSanitizer and UBSan): it answers with errors or gives up on the connection, and never crashes. Requests
 * that parse run as nobody (uid 65534), so whatever a random path names is out of reach on this host.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { AgentClient } from './agent-client.js';
import { builtAgentBinary } from './agent-binary.js';
import { AgentChannels } from './channel-listener.js';
import { FrameDecoder, PayloadWriter } from './frames.js';
import { rawFrame } from './test-support/hostile-agent.js';

const SANITIZER_ENV = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:halt_on_error=1',
  UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
};

const builds = [builtAgentBinary(), builtAgentBinary('sanitized')].filter(
  (path): path is string => path !== undefined,
);
if (builds.length === 0) throw new Error('burrow-agent is not built: run packages/server/agent/build.sh');

/** A small seeded generator (mulberry32), so a failing case can be replayed from its seed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every request type, the process manager's, watch and connect included. */
const REQUESTS = 'PXRWLSMDAUBJGTQIKYVN';
const NOBODY = '65534';

function fuzzInput(random: () => number): Buffer {
  const int = (max: number) => Math.floor(random() * max);
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => int(256)));
  const type = REQUESTS[int(REQUESTS.length)] ?? 'P';
  switch (int(7)) {
    case 0: // random bytes
      return bytes(int(80));
    case 1: // a header announcing more than the agent accepts
      return rawFrame(type, bytes(int(16)), 0x100001 + int(0x7fffffff));
    case 2: // a request whose fields are random after the user
      return rawFrame(type, Buffer.concat([new PayloadWriter().string(NOBODY).toBuffer(), bytes(int(200))]));
    case 3: // huge counts and lengths that the payload does not hold
      return rawFrame(
        type,
        new PayloadWriter().string(NOBODY).u32(0xffffffff).u32(int(0xffffffff)).u32(7).toBuffer(),
      );
    case 4: // a frame cut short, then the end
      return rawFrame(type, new PayloadWriter().string(NOBODY).string('/tmp').toBuffer(), 64).subarray(0, 12);
    case 5: // a well-formed write of a random path, then frames of random types and lengths
      return Buffer.concat([
        rawFrame(
          'W',
          new PayloadWriter()
            .string(NOBODY)
            .string(`/nonexistent/${int(1e6)}`)
            .u32(0o644)
            .toBuffer(),
        ),
        ...Array.from({ length: 1 + int(4) }, () => rawFrame(String.fromCharCode(int(128)), bytes(int(64)))),
      ]);
    default: // user strings with NULs, over the length limit, or invalid UTF-8
      return rawFrame(
        type,
        new PayloadWriter()
          .string(int(2) === 0 ? Buffer.from([0x30, 0, 0x30]) : bytes(600 + int(600)))
          .string('/tmp')
          .toBuffer(),
      );
  }
}

function runOnce(
  binary: string,
  input: Buffer,
): Promise<{ code: number | null; signal: string | null; out: Buffer; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(binary, ['stdio'], { env: SANITIZER_ENV });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out: Buffer.concat(out), err });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'burrow-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(builds)('burrow-agent %s against hostile input', (binary) => {
  it('answers or hangs up on 150 malformed requests over stdio, never crashing', async () => {
    const random = generator(0xb0220);
    for (let i = 0; i < 150; i += 1) {
      const input = fuzzInput(random);
      const result = await runOnce(binary, input);
      const context = { case: i, input: input.subarray(0, 40).toString('hex') };
      expect({ ...context, signal: result.signal, code: result.code }).toMatchObject({
        signal: null,
        code: 0,
      });
      expect({ ...context, report: /Sanitizer|runtime error:/.test(result.err) }).toMatchObject({
        report: false,
      });
      // Whatever it answered is well-framed.
      expect(() => new FrameDecoder().push(result.out)).not.toThrow();
    }
  });

  it('keeps serving its channel after garbage on several connections', async () => {
    const channels = new AgentChannels(join(dir, `channel-${builds.indexOf(binary)}`));
    const channelDir = await channels.listen('fuzz');
    const pm = `burrow-fuzz-${process.pid}-${builds.indexOf(binary)}`;
    const init = spawn(
      binary,
      ['init', '--channel', join(channelDir, 'agent.sock'), '--pm', pm, '--', 'sleep', '60'],
      {
        env: SANITIZER_ENV,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    init.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const client = new AgentClient(() => channels.open('fuzz', 5000));
      expect(await client.ping()).toBe('2');
      const random = generator(7);
      for (let i = 0; i < 20; i += 1) {
        const channel = await channels.open('fuzz', 5000);
        await channel.send(fuzzInput(random)).catch(() => undefined);
        await sleep(5);
        channel.destroy();
      }
      expect(await client.ping()).toBe('2');
      expect(init.exitCode).toBeNull();
      expect(stderr).not.toMatch(/Sanitizer|runtime error:/);
    } finally {
      init.kill('SIGKILL');
      channels.closeAll();
    }
  });
});

describe('the sanitized build', () => {
  it('really carries AddressSanitizer (a positive control for the checks above)', async () => {
    const sanitized = builtAgentBinary('sanitized');
    if (sanitized === undefined) {
      expect(process.env.CI).not.toBe('true');
      return;
    }
    const help = await new Promise<string>((resolve) => {
      const child = spawn(sanitized, ['version'], { env: { ...process.env, ASAN_OPTIONS: 'help=1' } });
      let text = '';
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('exit', () => resolve(text));
    });
    expect(help).toMatch(/AddressSanitizer/);
  });
});
