/**
 * 200 MB through the API (raw PUT, multipart upload, download) while the server's resident memory is sampled from
 * /proc/<pid>/status: files stream through the server, so its RSS must stay flat, far below the file size.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burrow, type Sandbox } from '@burrow/sdk';
import { removeInstance, spawnServer, type ChildServer } from '../support/child-server.js';
import { makeDataDir } from '../support/server.js';

const MIB = 1024 ** 2;
const SIZE = 200 * MIB;
/** Allowed RSS growth over the idle baseline while 200 MB pass through: a quarter of the file. */
const MAX_GROWTH = 50 * MIB;

/** The server's resident set size in bytes, from /proc. */
function rss(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples the RSS every 20 ms while `work` runs; returns the peak and the work's result. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = rss(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rss(pid))), 20);
  try {
    const result = await work();
    return { peak: Math.max(peak, rss(pid)), result };
  } finally {
    clearInterval(timer);
  }
}

/** `size` bytes of pseudo-random data, generated as it is read, hashed into `hash`. */
function generated(size: number, hash: ReturnType<typeof createHash>): Readable {
  const block = randomBytes(MIB);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.from(block.subarray(0, Math.min(MIB, size - sent)));
      chunk.writeUInt32BE(sent / MIB, 0); // no two blocks alike
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
}

function send(
  url: string,
  method: string,
  headers: Record<string, string | number>,
  body?: Readable,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, resolve);
    req.once('error', reject);
    if (body === undefined) req.end();
    else pipeline(body, req).catch(reject);
  });
}

async function text(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

let server: ChildServer;
let dataDir: string;
let sandbox: Sandbox;
let files: string;
const figures: string[] = [];

beforeAll(async () => {
  dataDir = await makeDataDir();
  server = await spawnServer({ dataDir });
  sandbox = await new Burrow({ url: server.url }).create({
    storage: { tmpfs: [{ path: '/data', size: '512m' }] },
  });
  files = `${server.url}/api/v1/sandboxes/${sandbox.id}/files`;
  // Warm up every path once (lazy modules, buffers, the agent connection) so the baseline is the steady state.
  const warm = randomBytes(8 * MIB);
  await sandbox.files.write('/data/warm', warm);
  expect((await sandbox.files.read('/data/warm')).length).toBe(warm.length);
});

afterAll(async () => {
  await sandbox?.destroy().catch(() => undefined);
  server?.process.kill('SIGTERM');
  await server?.exited;
  if (server !== undefined) await removeInstance(server.instance);
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
  console.log(`server RSS during 200 MB transfers:\n  ${figures.join('\n  ')}`);
});

describe('200 MB through the API', () => {
  let uploadedHash = '';

  it('PUT /files streams the upload', async () => {
    const baseline = rss(server.pid);
    const hash = createHash('sha256');
    const { peak, result } = await peakRss(server.pid, async () => {
      const response = await send(
        `${files}?path=/data/big.bin`,
        'PUT',
        { 'content-type': 'application/octet-stream', 'content-length': SIZE },
        generated(SIZE, hash),
      );
      return { status: response.statusCode, body: await text(response) };
    });
    uploadedHash = hash.digest('hex');
    figures.push(`PUT upload: baseline ${mib(baseline)}, peak ${mib(peak)}, growth ${mib(peak - baseline)}`);
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ success: true });
    expect((await sandbox.files.stat('/data/big.bin')).size).toBe(SIZE);
    expect(peak - baseline).toBeLessThan(MAX_GROWTH);
  });

  it('GET /files/download streams the download', async () => {
    const baseline = rss(server.pid);
    const { peak, result } = await peakRss(server.pid, async () => {
      const response = await send(`${files}/download?path=/data/big.bin`, 'GET', {});
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of response) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      return {
        status: response.statusCode,
        length: response.headers['content-length'],
        bytes,
        hash: hash.digest('hex'),
      };
    });
    figures.push(
      `GET download: baseline ${mib(baseline)}, peak ${mib(peak)}, growth ${mib(peak - baseline)}`,
    );
    expect(result).toEqual({ status: 200, length: String(SIZE), bytes: SIZE, hash: uploadedHash });
    expect(peak - baseline).toBeLessThan(MAX_GROWTH);
  });

  it('POST /files/upload streams a multipart upload', async () => {
    const boundary = `----burrow${randomBytes(8).toString('hex')}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\n/data/form.bin\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="form.bin"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const hash = createHash('sha256');
    const body = Readable.from(
      (async function* () {
        yield head;
        yield* generated(SIZE, hash);
        yield tail;
      })(),
    );
    const baseline = rss(server.pid);
    const { peak, result } = await peakRss(server.pid, async () => {
      const response = await send(
        `${files}/upload`,
        'POST',
        {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + SIZE + tail.length,
        },
        body,
      );
      return { status: response.statusCode, body: await text(response) };
    });
    figures.push(
      `multipart upload: baseline ${mib(baseline)}, peak ${mib(peak)}, growth ${mib(peak - baseline)}`,
    );
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ success: true });
    const check = await sandbox.commands.run(['sha256sum', '/data/form.bin']);
    expect(check.stdout.split(' ')[0]).toBe(hash.digest('hex'));
    expect(peak - baseline).toBeLessThan(MAX_GROWTH);
  });
});

function mib(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}
