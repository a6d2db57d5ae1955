/**
 * `yes` through a synchronous exec on a real `burrow serve`: a sandbox that prints without end must not grow the
 * server's memory. The server keeps `exec.max_output_bytes` per stream and drains the rest, so its resident memory
 * (sampled from /proc/<pid>/status) stays far below 300 MB while gigabytes pass, and it keeps answering.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burrow, type Sandbox } from '@burrow/sdk';
import { removeInstance, spawnServer, type ChildServer } from '../support/child-server.js';
import { makeDataDir } from '../support/server.js';

const MIB = 1024 ** 2;
const RSS_CEILING = 300 * MIB;

function rss(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

let server: ChildServer;
let dataDir: string;
let sandbox: Sandbox;

beforeAll(async () => {
  dataDir = await makeDataDir();
  server = await spawnServer({ dataDir });
  sandbox = await new Burrow({ url: server.url }).create();
});

afterAll(async () => {
  await sandbox?.destroy().catch(() => undefined);
  server?.process.kill('SIGTERM');
  await server?.exited;
  if (server !== undefined) await removeInstance(server.instance);
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('yes through a synchronous exec', () => {
  it('keeps the server under 300 MB, answers truncated, and the server keeps answering', async () => {
    const baseline = rss(server.pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(server.pid))), 50);
    // Health answers while the flood runs: the slowest of them is reported.
    let slowestHealthMs = 0;
    let healthChecks = 0;
    let flooding = true;
    const prober = (async () => {
      while (flooding) {
        const started = performance.now();
        const response = await fetch(`${server.url}/api/v1/health`);
        expect(response.status).toBe(200);
        slowestHealthMs = Math.max(slowestHealthMs, performance.now() - started);
        healthChecks += 1;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    const started = performance.now();
    let body: Record<string, unknown>;
    try {
      const response = await fetch(`${server.url}/api/v1/sandboxes/${sandbox.id}/exec`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ cmd: ['yes'], timeout: 10 }),
      });
      expect(response.status).toBe(200);
      body = (await response.json()) as Record<string, unknown>;
    } finally {
      flooding = false;
      clearInterval(sampler);
      await prober;
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `yes for ${seconds.toFixed(1)} s: server RSS ${(baseline / MIB).toFixed(0)} MiB before, peak ${(peak / MIB).toFixed(0)} MiB, ` +
        `${healthChecks} health checks, slowest ${slowestHealthMs.toFixed(0)} ms`,
    );
    expect(body).toMatchObject({ exit_code: 124, timed_out: true, truncated: true });
    expect((body.stdout as string).length).toBe(16 * MIB);
    expect((body.stdout as string).startsWith('y\ny\ny\n')).toBe(true);
    expect(peak).toBeLessThan(RSS_CEILING);
    expect(healthChecks).toBeGreaterThan(5);
    // The server is still there and still works.
    expect((await sandbox.commands.run(['echo', 'still here'])).stdout).toBe('still here\n');
  });
});
