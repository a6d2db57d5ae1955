/**
 * The server's agent client and channel against a hostile agent (test-support/hostile-agent.ts): whatever the
 * sandbox sends, the server answers with a registered error within its deadlines, keeps its memory bounded, and
 * stays up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentClient, type AgentDeadlines } from './agent-client.js';
import { AgentChannels } from './channel-listener.js';
import { PayloadWriter } from './frames.js';
import {
  rawFrame,
  startHostileAgent,
  type Behaviour,
  type HostileAgent,
} from './test-support/hostile-agent.js';

const FAST: AgentDeadlines = { callMs: 300, idleMs: 300, removeMs: 300, unpackMs: 300 };

let dir: string;
let channels: AgentChannels;
let agent: HostileAgent | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'burrow-hostile-'));
  channels = new AgentChannels(join(dir, 'channels'), { floodLimit: 50, cooldownMs: 300 });
});

afterEach(() => {
  agent?.stop();
  agent = undefined;
  channels.closeAll();
  rmSync(dir, { recursive: true, force: true });
});

async function clientFor(behave: Behaviour): Promise<AgentClient> {
  const channelDir = await channels.listen('sbx');
  agent = startHostileAgent(join(channelDir, 'agent.sock'), behave);
  return new AgentClient(() => channels.open('sbx', 2000), FAST);
}

function statRecord(name: string): Buffer {
  return new PayloadWriter()
    .u32(0o100644)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .u32(0)
    .string(name)
    .string('')
    .toBuffer();
}

const path = Buffer.from('/tmp/x');

describe('a hostile agent', () => {
  it('announcing a frame larger than the limit gets AGENT_PROTOCOL, not an allocation', async () => {
    const client = await clientFor((_request, socket) => {
      socket.write(rawFrame('p', Buffer.alloc(0), 0xffffffff));
    });
    await expect(client.ping()).rejects.toMatchObject({ code: 'AGENT_PROTOCOL' });
  });

  it('stalling gets AGENT_UNREACHABLE at the deadline', async () => {
    const client = await clientFor(() => undefined);
    const started = Date.now();
    await expect(client.stat('', path)).rejects.toMatchObject({ code: 'AGENT_UNREACHABLE' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stalling in the middle of a download ends the body with an error', async () => {
    const client = await clientFor((_request, socket) => {
      const stat = Buffer.concat([statRecord('x'), new PayloadWriter().u32(0).toBuffer()]);
      socket.write(Buffer.concat([rawFrame('m', stat), rawFrame('d', Buffer.from('partial'))]));
    });
    const file = await client.readFile('', path);
    const chunks: Buffer[] = [];
    await expect(
      (async () => {
        for await (const chunk of file.body) chunks.push(chunk as Buffer);
      })(),
    ).rejects.toMatchObject({ code: 'AGENT_UNREACHABLE' });
    expect(Buffer.concat(chunks).toString()).toBe('partial');
  });

  it('closing mid-frame gets AGENT_PROTOCOL', async () => {
    const client = await clientFor((_request, socket) => {
      socket.end(rawFrame('m', Buffer.from('abc'), 100));
    });
    await expect(client.stat('', path)).rejects.toMatchObject({ code: 'AGENT_PROTOCOL' });
  });

  it('sending truncated payloads and unknown frame types gets AGENT_PROTOCOL', async () => {
    const truncated = await clientFor((_request, socket) => {
      socket.write(rawFrame('m', Buffer.from([0, 0])));
    });
    await expect(truncated.stat('', path)).rejects.toMatchObject({ code: 'AGENT_PROTOCOL' });
    agent?.stop();
    // Let the server see the stopped agent's connections close before a new one connects.
    await sleep(50);
    const unknown = new AgentClient(() => channels.open('sbx', 2000), FAST);
    agent = startHostileAgent(join(channels.directory('sbx'), 'agent.sock'), (_request, socket) => {
      socket.write(rawFrame('\u00ff', Buffer.alloc(3)));
    });
    await expect(unknown.mkdir('', path)).rejects.toMatchObject({ code: 'AGENT_PROTOCOL' });
  });

  it('listing forever is cut at the entry limit, and names that are not one component are dropped', async () => {
    let sent = 0;
    const client = await clientFor((_request, socket) => {
      const write = () => {
        let ok = true;
        while (ok && !socket.destroyed) {
          sent += 1;
          const name = sent === 1 ? '../../etc/passwd' : sent === 2 ? 'a/b' : `f${sent}`;
          ok = socket.write(rawFrame('m', statRecord(name)));
        }
        if (!socket.destroyed) socket.once('drain', write);
      };
      write();
    });
    const listing = await client.list('', path, 1000);
    expect(listing.truncated).toBe(true);
    expect(listing.entries).toHaveLength(1000);
    expect(listing.entries.map((entry) => entry.name)).not.toContain('../../etc/passwd');
    expect(listing.entries.every((entry) => !entry.name.includes('/'))).toBe(true);
  });

  it('failing with invalid UTF-8 and control characters gets a clean, bounded message', async () => {
    const client = await clientFor((_request, socket) => {
      const message = Buffer.concat([Buffer.from([0xff, 0xfe, 0x1b]), Buffer.from('[31mred\n'.repeat(500))]);
      socket.write(rawFrame('f', new PayloadWriter().u32(5).string(message).toBuffer()));
    });
    const error = await client.mkdir('', path).then(
      () => new Error('no failure'),
      (caught: unknown) => caught as Error,
    );
    expect(error.message.length).toBeLessThan(1200);
    // eslint-disable-next-line no-control-regex
    expect(error.message).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('the channel against a hostile sandbox', () => {
  it('closes idle connections that speak first, and keeps at most four idle ones', async () => {
    const channelDir = await channels.listen('sbx');
    const socketPath = join(channelDir, 'agent.sock');
    const sockets = Array.from({ length: 10 }, () => connect(socketPath).on('error', () => undefined));
    await sleep(200);
    const open = sockets.filter((socket) => !socket.destroyed && socket.readyState === 'open');
    const closed = await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<boolean>((resolve) => {
            if (socket.destroyed) resolve(true);
            socket.once('close', () => resolve(true));
            setTimeout(() => resolve(false), 300);
          }),
      ),
    );
    expect(open.length).toBeGreaterThan(0);
    expect(closed.filter((isClosed) => !isClosed).length).toBeLessThanOrEqual(4);
    const chatty = sockets.find((socket) => !socket.destroyed);
    chatty?.write('hello');
    await sleep(100);
    expect(chatty?.destroyed === true || chatty?.readableEnded === true || chatty?.closed === true).toBe(
      true,
    );
    for (const socket of sockets) socket.destroy();
  });

  it('stops listening for a while when flooded with connections, then listens again', async () => {
    const channelDir = await channels.listen('sbx');
    const socketPath = join(channelDir, 'agent.sock');
    let refused = 0;
    const flood = Array.from({ length: 200 }, () => connect(socketPath).on('error', () => (refused += 1)));
    await sleep(100);
    expect(refused).toBeGreaterThan(0);
    for (const socket of flood) socket.destroy();
    await sleep(500);
    // Listening again: a well-behaved agent connects and answers.
    agent = startHostileAgent(socketPath, (_request, socket) => {
      socket.write(rawFrame('p', new PayloadWriter().string('2').toBuffer()));
    });
    expect(await new AgentClient(() => channels.open('sbx', 2000), FAST).ping()).toBe('2');
  });
});
