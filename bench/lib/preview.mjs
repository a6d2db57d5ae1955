/**
 * Preview URLs and published ports: the same HTTP requests to a web server inside a sandbox (busybox httpd), sent
 * through Burrow's preview proxy (host-based URL), straight to a port Burrow published (POST /ports: plain TCP
 * through the same agent connection, no HTTP proxying), and to a port Docker published itself (`docker run -p`, the
 * kernel's NAT: what no tunnel costs). Interleaved, in one run: small-request latency and a 100 MB download.
 */
import { request } from 'node:http';
import { createServer } from 'node:net';
import { summarise } from './stats.mjs';
import { MiB, run } from './systems.mjs';

const SERVE = (bytes) =>
  `mkdir -p /tmp/www && echo ok > /tmp/www/small && head -c ${bytes} /dev/zero > /tmp/www/big && exec httpd -f -p 8000 -h /tmp/www`;

/** A free loopback port in the server's default host port range (sandbox.host_port_range, 20000-29999). */
async function freePort(min = 20_000, max = 29_999) {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    const free = await new Promise((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${min}-${max}`);
}

/** A GET, counting the body's bytes; resolves with [milliseconds, bytes]. */
function get(port, path, host) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = request(
      { host: '127.0.0.1', port, path, headers: host === undefined ? {} : { host } },
      (res) => {
        let bytes = 0;
        res.on('data', (chunk) => (bytes += chunk.length));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve([performance.now() - start, bytes])
            : reject(new Error(`HTTP ${res.statusCode}`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function until(check, what) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what} did not answer: ${error.message}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export async function previewProxy({ client, serverUrl, image, runId, small, big, log }) {
  const bytes = 100 * MiB;
  const sandbox = await client.create({ cmd: ['sh', '-c', SERVE(bytes)], network_mode: 'none' });
  const publishedPort = await freePort();
  const dockerPort = await freePort();
  let container;
  try {
    await fetch(`${serverUrl}/api/v1/sandboxes/${sandbox.id}/ports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sandbox_port: 8000, host_port: publishedPort }),
    }).then((response) => {
      if (response.status !== 201) throw new Error(`POST /ports: HTTP ${response.status}`);
    });
    container = (
      await run('docker', [
        'run',
        '-d',
        '--label',
        `burrow-bench.run=${runId}`,
        '-p',
        `127.0.0.1:${dockerPort}:8000`,
        image,
        'sh',
        '-c',
        SERVE(bytes),
      ])
    ).stdout.trim();
    const serverPort = Number(new URL(serverUrl).port);
    const systems = [
      {
        name: 'preview',
        label: 'Burrow preview URL (HTTP proxy)',
        port: serverPort,
        host: `8000-${sandbox.id}.localhost:${serverPort}`,
      },
      { name: 'published', label: 'Burrow published port (TCP)', port: publishedPort },
      { name: 'docker-publish', label: 'Docker-published port (kernel NAT)', port: dockerPort },
    ];
    for (const system of systems) await until(() => get(system.port, '/small', system.host), system.label);
    const result = () =>
      Object.fromEntries(
        systems.map((s) => [s.name, { label: s.label, samples: [], failures: 0, errors: [] }]),
      );
    const latency = result();
    const download = result();
    const measure = async (target, path, count, expected) => {
      for (let i = 0; i < count; i += 1) {
        for (const system of [...systems.slice(i % 3), ...systems.slice(0, i % 3)]) {
          const entry = target[system.name];
          try {
            const [ms, got] = await get(system.port, path, system.host);
            if (got !== expected) throw new Error(`${got} bytes, expected ${expected}`);
            entry.samples.push(ms);
          } catch (error) {
            entry.failures += 1;
            if (entry.errors.length < 3) entry.errors.push(error.message);
            log(`    ${entry.label}: FAILED: ${error.message}`);
          }
        }
      }
      for (const entry of Object.values(target)) entry.summary = summarise(entry.samples);
    };
    await measure(latency, '/small', small, 3);
    await measure(download, '/big', big, bytes);
    return { latency, download, bytes };
  } finally {
    if (container !== undefined) await run('docker', ['rm', '-f', container]).catch(() => undefined);
    await client.destroy(sandbox.id).catch(() => undefined);
  }
}
