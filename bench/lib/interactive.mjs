/**
 * Terminals and background processes, each against a reference measured in the same run:
 * - keystroke echo: one key to a remote terminal and its echo back, over the exec WebSocket (`burrow shell`, `exec
 *   -t`) and over the attach WebSocket of a background process (`sandbox.pty`), against the same echo through a
 *   local pseudo-terminal on the host (`script` running `cat`);
 * - attach with replay: the time to get a background process's buffered output (1 MiB) over the attach WebSocket,
 *   against `docker logs` of a container that printed the same;
 * - output throughput through a terminal (exec with pty, binary frames) against the plain exec stream (JSON text).
 */
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { RUN_LABEL } from './cleanup.mjs';
import { interleaved } from './scenarios.mjs';
import { since } from './stats.mjs';
import { MiB, run } from './systems.mjs';

const REPLAY_BYTES = MiB;
const printer = (bytes) => `head -c ${bytes} /dev/zero | tr '\\0' a`;

/** Resolves with the next chunk that satisfies `match`, from an 'data'-style event source. */
function waitFor(source, event, match, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off(event, onData);
      reject(new Error(`no echo within ${timeoutMs} ms`));
    }, timeoutMs);
    const onData = (...args) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      source.off(event, onData);
      resolve();
    };
    source.on(event, onData);
  });
}

const keyOf = (i) => String.fromCharCode(0x61 + (i % 26));

/** A terminal reached through a child process's stdin/stdout (a local pty, or `docker exec -it` inside one). */
async function childTerminal(command, args) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout.setEncoding('latin1');
  child.stderr.resume();
  // The terminal is ready once a first key comes back.
  child.stdin.write('.');
  await waitFor(child.stdout, 'data', (data) => data.includes('.'), 30_000);
  return {
    async echo(i) {
      const key = keyOf(i);
      const start = performance.now();
      const echoed = waitFor(child.stdout, 'data', (data) => data.includes(key));
      child.stdin.write(key);
      await echoed;
      return since(start);
    },
    close: () => child.kill('SIGKILL'),
  };
}

/** Opens a WebSocket and resolves once open. */
function openSocket(url) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A remote terminal running `cat`: over the exec WebSocket, or a background process over the attach WebSocket. */
async function burrowTerminal(client, wsBase, id, background) {
  let socket;
  if (background) {
    const started = await client.startProcess(id, ['cat'], { stdin: true, pty: { cols: 80, rows: 24 } });
    socket = await openSocket(`${wsBase}/api/v1/sandboxes/${id}/processes/${started.id}/attach`);
  } else {
    socket = await openSocket(`${wsBase}/api/v1/sandboxes/${id}/exec/stream`);
    socket.send(JSON.stringify({ cmd: ['cat'], stdin: true, pty: { cols: 80, rows: 24 } }));
  }
  const ready = waitFor(socket, 'message', (data, binary) => binary && String(data).includes('.'), 30_000);
  socket.send(Buffer.from('.'), { binary: true });
  await ready;
  return {
    async echo(i) {
      const key = keyOf(i);
      const start = performance.now();
      const echoed = waitFor(socket, 'message', (data, binary) => binary && String(data).includes(key));
      socket.send(Buffer.from(key), { binary: true });
      await echoed;
      return since(start);
    },
    close: () => socket.terminate(),
  };
}

export async function ptyEcho({ client, url }, iterations, log) {
  const sandbox = (await client.create({})).id;
  const wsBase = url.replace(/^http/, 'ws');
  const terminals = {};
  try {
    terminals.burrow = await burrowTerminal(client, wsBase, sandbox, false);
    terminals['burrow-attach'] = await burrowTerminal(client, wsBase, sandbox, true);
    terminals['local-pty'] = await childTerminal('script', ['-qfc', 'cat', '/dev/null']);
    return await interleaved(
      [
        { name: 'burrow', label: 'Burrow, exec WebSocket with pty (burrow shell)' },
        { name: 'burrow-attach', label: 'Burrow, background process, attach WebSocket (sandbox.pty)' },
        { name: 'local-pty', label: 'local pty on the host (script running cat)' },
      ],
      iterations,
      (system, i) => terminals[system.name].echo(i),
      log,
    );
  } finally {
    for (const terminal of Object.values(terminals)) terminal.close();
    await client.destroy(sandbox).catch(() => undefined);
  }
}

/** Replays a finished 1 MiB of output over the attach WebSocket; resolves once every byte arrived. */
function attachReplay(wsBase, id, processId) {
  // Listening from the start: the first frames can come with the handshake, in the same read.
  const socket = new WebSocket(`${wsBase}/api/v1/sandboxes/${id}/processes/${processId}/attach?replay=true`, {
    perMessageDeflate: false,
  });
  let bytes = 0;
  return new Promise((resolve, reject) => {
    socket.on('message', (data, binary) => {
      if (binary) bytes += data.length;
      else {
        const message = JSON.parse(String(data));
        if (message.type === 'stdout') bytes += message.data.length;
        if (message.type === 'error') reject(new Error(message.data));
      }
      if (bytes >= REPLAY_BYTES) {
        socket.terminate();
        resolve();
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`attach closed after ${bytes} bytes`)));
  });
}

export async function replay({ client, url, image, runId }, iterations, log) {
  const sandbox = (await client.create({})).id;
  const container = (
    await run('docker', [
      'run',
      '-d',
      '--init',
      '--label',
      `${RUN_LABEL}=${runId}`,
      image,
      'sh',
      '-c',
      `${printer(REPLAY_BYTES)}; sleep 3600`,
    ])
  ).stdout.trim();
  try {
    const started = await client.startProcess(sandbox, ['sh', '-c', `${printer(REPLAY_BYTES)}; sleep 3600`]);
    const wsBase = url.replace(/^http/, 'ws');
    const systems = [
      { name: 'burrow', label: 'Burrow (attach ?replay=true)' },
      { name: 'docker-logs', label: 'docker logs' },
    ];
    // Both have printed everything before the first timing.
    await attachReplay(wsBase, sandbox, started.id);
    return await interleaved(
      systems,
      iterations,
      async (system) => {
        const start = performance.now();
        if (system.name === 'burrow') await attachReplay(wsBase, sandbox, started.id);
        else {
          const { bytes } = await run('docker', ['logs', container]);
          if (bytes !== REPLAY_BYTES) throw new Error(`docker logs gave ${bytes} bytes`);
        }
        return since(start);
      },
      log,
    );
  } finally {
    await client.destroy(sandbox).catch(() => undefined);
    await run('docker', ['rm', '-f', container]).catch(() => undefined);
  }
}

/** Runs a command over the exec WebSocket (on a terminal or not) and counts its output bytes. */
async function streamed(wsBase, id, bytes, pty) {
  const socket = await openSocket(`${wsBase}/api/v1/sandboxes/${id}/exec/stream`);
  socket.send(
    JSON.stringify({ cmd: ['sh', '-c', printer(bytes)], ...(pty ? { pty: { cols: 80, rows: 24 } } : {}) }),
  );
  let received = 0;
  await new Promise((resolve, reject) => {
    socket.on('message', (data, binary) => {
      if (binary) {
        received += data.length;
        return;
      }
      const message = JSON.parse(String(data));
      if (message.type === 'stdout') received += message.data.length;
      else if (message.type === 'exit') resolve();
      else if (message.type === 'error') reject(new Error(message.data));
    });
    socket.once('close', () => resolve());
  });
  socket.terminate();
  if (received !== bytes) throw new Error(`expected ${bytes} bytes, got ${received}`);
}

export async function ptyThroughput({ client, url }, iterations, bytes, log) {
  const sandbox = (await client.create({})).id;
  const wsBase = url.replace(/^http/, 'ws');
  try {
    return await interleaved(
      [
        { name: 'burrow-pty', label: 'Burrow exec on a terminal (binary frames)' },
        { name: 'burrow-plain', label: 'Burrow exec stream, no terminal (JSON text)' },
      ],
      iterations,
      async (system) => {
        const start = performance.now();
        await streamed(wsBase, sandbox, bytes, system.name === 'burrow-pty');
        return since(start);
      },
      log,
    );
  } finally {
    await client.destroy(sandbox).catch(() => undefined);
  }
}
