/** The Engine API path's pure parts: path encoding, listing and error parsing, and the agent-less container spec. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TMPFS } from '../../../storage/tmpfs.js';
import { containerSpec, KEEP_ALIVE, type SpecContext } from '../create-spec.js';
import { demuxDockerStream } from './demux.js';
import { parseListing } from './script-output.js';
import { scriptFailure, scriptMessages } from './script-errors.js';
import { encodePath } from './scripts.js';

describe('encodePath', () => {
  it('keeps plain names and escapes everything printf or JSON could misread', () => {
    expect(encodePath(Buffer.from('/tmp/a-b_c.d/e+f'))).toBe('/tmp/a-b_c.d/e+f');
    expect(encodePath(Buffer.from('/a b%\\'))).toBe('/a\\040b\\045\\134');
    expect(encodePath(Buffer.from([0x2f, 0xff, 0x0a]))).toBe('/\\377\\012');
  });
});

describe('parseListing', () => {
  const line = (mode: string, size: number, name: string) =>
    `S${mode} ${size} 1700000000 2023-11-14 22:13:20.123456789 +0000 ./${name}\n`;

  it('pairs stat lines with announced names, including newlines, link targets and vanished entries', () => {
    const out = Buffer.concat([
      Buffer.from('N3:a\nbN4:linkL4:/etcN4:gone'),
      Buffer.from(line('81a4', 3, 'a\nb')),
      Buffer.from(line('a1ff', 4, 'link')),
    ]);
    const entries = parseListing(out, Buffer.from('/tmp'));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      name: 'a\nb',
      path: '/tmp/a\nb',
      size: 3,
      mode: '-rw-r--r--',
      isDir: false,
    });
    expect(entries[0]?.modTime.getTime()).toBe(1_700_000_000_123);
    expect(entries[1]).toMatchObject({
      name: 'link',
      isSymlink: true,
      linkTarget: '/etc',
      mode: 'lrwxrwxrwx',
    });
  });

  it('lists an empty directory as empty', () => {
    expect(parseListing(Buffer.alloc(0), Buffer.from('/'))).toEqual([]);
  });
});

describe('script errors', () => {
  it('reads the messages a script sends and maps tool messages to the agent codes', () => {
    expect(scriptMessages(Buffer.from('\x1eburrow:pid:42\nrest'))).toMatchObject({ pid: 42, text: 'rest' });
    expect(scriptFailure(Buffer.from('\x1eburrow:errno:ENOTDIR\n'), 1, 'listing', '/x').code).toBe(
      'NOT_A_DIRECTORY',
    );
    expect(
      scriptFailure(Buffer.from("sh: can't create /etc/x: Read-only file system\n"), 1, 'writing').code,
    ).toBe('READ_ONLY');
    expect(scriptFailure(Buffer.from('cat: write error: No space left on device'), 1, 'writing').code).toBe(
      'NO_SPACE',
    );
    const tool = scriptFailure(Buffer.from('\x1eburrow:tool:stat\n'), 1, 'stat');
    expect(tool.code).toBe('NOT_SUPPORTED');
    expect(tool.message).toMatch(/"stat"/);
    expect(scriptFailure(Buffer.from('odd'), 3, 'stat', '/x').code).toBe('INTERNAL');
  });
});

describe('demuxDockerStream', () => {
  it('splits frames across and within chunks, in order', async () => {
    const frame = (type: number, text: string) => {
      const header = Buffer.alloc(8);
      header[0] = type;
      header.writeUInt32BE(Buffer.byteLength(text), 4);
      return Buffer.concat([header, Buffer.from(text)]);
    };
    const all = Buffer.concat([frame(1, 'hello'), frame(2, 'err'), frame(1, ''), frame(1, 'world')]);
    async function* pieces() {
      for (let i = 0; i < all.length; i += 3) yield all.subarray(i, i + 3);
    }
    // Consecutive chunks of one stream merged: the split points are the transport's business.
    const runs: [string, string][] = [];
    for await (const chunk of demuxDockerStream(pieces())) {
      const last = runs.at(-1);
      if (last !== undefined && last[0] === chunk.stream) last[1] += chunk.data.toString();
      else runs.push([chunk.stream, chunk.data.toString()]);
    }
    expect(runs).toEqual([
      ['stdout', 'hello'],
      ['stderr', 'err'],
      ['stdout', 'world'],
    ]);
  });
});

describe('the container spec without the agent', () => {
  const context: SpecContext = {
    imageDefaults: { user: 'sandbox', entrypoint: [], cmd: [] },
    networkName: 'burrow-internal',
    defaultTmpfs: DEFAULT_TMPFS,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    instance: 'test',
  };

  it('runs the image command as the image user under Docker init, kept alive when there is none', () => {
    const spec = containerSpec('abc', { image: 'img' }, context);
    expect(spec.Entrypoint).toEqual(KEEP_ALIVE);
    expect(spec.User).toBeUndefined();
    expect(spec.HostConfig?.Init).toBe(true);
    expect(spec.HostConfig?.CapDrop).toEqual(['ALL']);
    expect(spec.HostConfig?.SecurityOpt).toEqual(['no-new-privileges']);
    expect(spec.HostConfig?.Mounts).toEqual([]);
    const withCmd = containerSpec('abc', { image: 'img', cmd: ['python3', '-m', 'http.server'] }, context);
    expect(withCmd.Entrypoint).toEqual(['python3', '-m', 'http.server']);
  });
});
