/**
 * The scenarios. Timed jobs of different systems are interleaved (iteration i runs every system once, the order
 * rotating), so drift on the machine (page cache, other load) spreads over all of them alike.
 */
import { spawn } from 'node:child_process';
import { containerFootprint, memAvailable, rssOf } from './machine.mjs';
import { summarise, since } from './stats.mjs';
import { big, FILE_PATH, MiB } from './systems.mjs';
import { DIGEST_CMD, expectDigest, letters, parseDigest } from './verify.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function rotate(list, by) {
  const shift = by % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

/** A scenario's result: per system, samples (ms), their summary, failures and the first errors. */
function resultFor(systems) {
  return Object.fromEntries(
    systems.map((system) => [system.name, { label: system.label, samples: [], failures: 0, errors: [] }]),
  );
}

function finish(result) {
  for (const entry of Object.values(result)) entry.summary = summarise(entry.samples);
  return result;
}

function fail(entry, error, log) {
  entry.failures += 1;
  const message = error instanceof Error ? error.message : String(error);
  if (entry.errors.length < 3) entry.errors.push(message);
  log(`    ${entry.label}: FAILED: ${message}`);
}

/** Runs `job(system, i)` (resolving with milliseconds) `iterations` times per system, interleaved. */
export async function interleaved(systems, iterations, job, log) {
  const result = resultFor(systems);
  for (let i = 0; i < iterations; i += 1) {
    for (const system of rotate(systems, i)) {
      try {
        result[system.name].samples.push(await job(system, i));
      } catch (error) {
        fail(result[system.name], error, log);
      }
    }
  }
  return finish(result);
}

/** Times `work`, then runs `after(value)` untimed. */
export async function timed(work, after) {
  const start = performance.now();
  const value = await work();
  const ms = since(start);
  if (after !== undefined) await after(value);
  return ms;
}

/** The reference the targets are stated against: Node starting /bin/true. */
export function spawnTrue() {
  return {
    name: 'spawn-true',
    label: 'Node spawn(/bin/true)',
    exec: () =>
      new Promise((resolve, reject) => {
        const child = spawn('/bin/true', { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`/bin/true exited ${code}`)),
        );
      }),
  };
}

export async function ttiCold({ sdk, curl, cli, api }, iterations, log) {
  const oneShot = {
    name: 'docker-run-rm',
    label: 'docker run --rm (one shot)',
    oneShot: () => cli.oneShot(),
  };
  return interleaved(
    [sdk, curl, cli, api, oneShot],
    iterations,
    async (system) => {
      if (system === oneShot) return timed(() => system.oneShot());
      return timed(
        () => system.tti(),
        (id) => system.remove(id),
      );
    },
    log,
  );
}

/** Waits until the server's warm pool is full and idle (never timed). */
export async function poolFull(client, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pool = (await client.resources()).warm_pool;
    if (pool === undefined) throw new Error('the server reports no warm_pool in /api/v1/resources');
    if (pool.target > 0 && pool.ready >= pool.target && pool.creating === 0) return pool;
    if (Date.now() > deadline)
      throw new Error(`the warm pool did not fill within ${timeoutMs} ms: ${JSON.stringify(pool)}`);
    await sleep(50);
  }
}

export async function ttiWarm({ sdk, client }, iterations, log) {
  const warm = { name: 'burrow-warm', label: 'Burrow (SDK, warm pool)' };
  return interleaved(
    [warm],
    iterations,
    async () => {
      await poolFull(client);
      return timed(
        () => sdk.tti({}),
        (id) => sdk.remove(id),
      );
    },
    log,
  );
}

/** Runs `work(system, sandbox)` on one long-lived sandbox per system. */
export async function onSandboxes(systems, work) {
  const sandboxes = new Map();
  try {
    for (const system of systems)
      if (system.create !== undefined) sandboxes.set(system.name, await system.create());
    return await work(sandboxes);
  } finally {
    for (const system of systems) {
      const id = sandboxes.get(system.name);
      if (id !== undefined) await system.remove(id).catch(() => undefined);
    }
  }
}

export function execEcho(systems, iterations, log) {
  const reference = spawnTrue();
  return onSandboxes(systems, (sandboxes) =>
    interleaved(
      [...systems, reference],
      iterations,
      (system) =>
        system === reference
          ? timed(() => reference.exec())
          : timed(() => system.exec(sandboxes.get(system.name), ['echo', 'hi'])),
      log,
    ),
  );
}

/** Output of a known SHA-256 (`bytes` of "a"), checked whole by every system, untimed as the file jobs are. */
export function execBig(systems, iterations, bytes, log) {
  const expected = letters(bytes);
  return onSandboxes(systems, (sandboxes) =>
    interleaved(
      systems,
      iterations,
      (system) =>
        timed(
          () => system.exec(sandboxes.get(system.name), big(bytes), expected),
          (check) => check(),
        ),
      log,
    ),
  );
}

/** The SHA-256 and size of a file in a sandbox, through the system's own exec (never timed). */
async function digestIn(system, id, path) {
  return parseDigest(await system.output(id, DIGEST_CMD(path)), `${system.label} digest of ${path}`);
}

/**
 * The payload written then read back, per iteration; two results. A write counts once the file in the sandbox has
 * the payload's SHA-256 (checked untimed); a read, once the bytes read have it (a read that lands in a file returns
 * its check, run untimed).
 */
export async function fileRoundTrip(systems, iterations, payload, log) {
  const writes = resultFor(systems);
  const reads = resultFor(systems);
  await onSandboxes(systems, async (sandboxes) => {
    for (let i = 0; i < iterations; i += 1) {
      for (const system of rotate(systems, i)) {
        const id = sandboxes.get(system.name);
        const path = system.filePath ?? FILE_PATH;
        try {
          writes[system.name].samples.push(
            await timed(
              () => system.write(id, payload),
              async () => expectDigest(await digestIn(system, id, path), payload, `${system.label} write`),
            ),
          );
        } catch (error) {
          fail(writes[system.name], error, log);
          continue;
        }
        try {
          reads[system.name].samples.push(
            await timed(
              () => system.read(id, payload),
              (check) => check?.(),
            ),
          );
        } catch (error) {
          fail(reads[system.name], error, log);
        }
      }
    }
  });
  return { write: finish(writes), read: finish(reads) };
}

/**
 * One large write per iteration into a fresh sandbox whose /tmp tmpfs and memory hold it, checked untimed: the
 * rate must not fall with the size.
 */
export async function largeWrite(system, iterations, payload, log) {
  const result = resultFor([system]);
  const request = {
    workdir: '/tmp',
    memory: payload.bytes * 2 + 512 * MiB,
    storage: { tmpfs: [{ path: '/tmp', size: `${Math.ceil((payload.bytes + 64 * MiB) / MiB)}m` }] },
  };
  for (let i = 0; i < iterations; i += 1) {
    let id;
    try {
      id = await system.create(request);
      result[system.name].samples.push(
        await timed(
          () => system.write(id, payload),
          async () => expectDigest(await digestIn(system, id, FILE_PATH), payload, `${system.label} write`),
        ),
      );
    } catch (error) {
      fail(result[system.name], error, log);
    } finally {
      if (id !== undefined) await system.remove(id).catch(() => undefined);
    }
  }
  return finish(result);
}

/**
 * A sandbox with `bytes` of new data in its root filesystem; timed: snapshot, restore, first command. The restored
 * sandbox's copy of the data must have the original's SHA-256 (checked untimed).
 */
export function snapshotRestore(systems, iterations, bytes, log) {
  return interleaved(
    systems,
    iterations,
    async (system, i) => {
      const source = await system.snapshotSource();
      try {
        await system.exec(source, ['sh', '-c', `head -c ${bytes} /dev/urandom > /bench-snap.bin && echo hi`]);
        const original = await digestIn(system, source, '/bench-snap.bin');
        return await timed(
          () => system.snapshotRestore(source, i),
          async (made) => {
            try {
              const copy = await digestIn(system, made.sandbox, '/bench-snap.bin');
              expectDigest(copy, original, `${system.label} restored data`);
            } finally {
              await system.removeSnapshotResult(made);
            }
          },
        );
      } finally {
        await system.remove(source).catch(() => undefined);
      }
    },
    log,
  );
}

/**
 * Burrow's fork of a sandbox with `bytes` of new data into `count` copies, against a snapshot and `count`
 * restores (in parallel) in the same run; timed until every copy answered its first command.
 */
export function forkVsRestores(client, count, iterations, bytes, log) {
  const echo = async (id) => {
    const result = await client.exec(id, ['echo', 'hi']);
    if (result.stdout !== 'hi\n')
      throw new Error(`unexpected output in ${id}: ${JSON.stringify(result.stdout)}`);
  };
  const systems = [
    {
      name: 'fork',
      label: 'burrow fork',
      copy: async (source) => {
        const { sandboxes } = await client.fork(source, count);
        await Promise.all(sandboxes.map((copy) => echo(copy.id)));
        return { sandboxes: sandboxes.map((copy) => copy.id) };
      },
    },
    {
      name: 'snapshot-restores',
      label: `burrow snapshot + ${count} restore${count === 1 ? '' : 's'}`,
      copy: async (source, i) => {
        const snapshot = await client.snapshot(source, `bench-fork-${i}`);
        const restored = await Promise.all(Array.from({ length: count }, () => client.restore(snapshot.id)));
        await Promise.all(restored.map((copy) => echo(copy.id)));
        return { sandboxes: restored.map((copy) => copy.id), snapshot: snapshot.id };
      },
    },
  ];
  return interleaved(
    systems,
    iterations,
    async (system, i) => {
      const source = (await client.create({ writable_rootfs: true })).id;
      try {
        await client.exec(source, ['sh', '-c', `head -c ${bytes} /dev/urandom > /bench-fork.bin && echo hi`]);
        return await timed(
          () => system.copy(source, i),
          async (made) => {
            await Promise.all(made.sandboxes.map((id) => client.destroy(id)));
            if (made.snapshot !== undefined) await client.deleteSnapshot(made.snapshot);
          },
        );
      } finally {
        await client.destroy(source).catch(() => undefined);
      }
    },
    log,
  );
}

/** `count` creates at once per system (one system at a time); latency of each, failures, wall time. */
export async function burst(systems, count, log) {
  const result = resultFor(systems);
  for (const system of systems) {
    const entry = result[system.name];
    const made = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: count }, async () => {
        const began = performance.now();
        try {
          made.push(await system.create());
          entry.samples.push(since(began));
        } catch (error) {
          fail(entry, error, log);
        }
      }),
    );
    entry.wallMs = since(start);
    await removeAll(system, made);
  }
  return finish(result);
}

async function removeAll(system, ids, parallel = 8) {
  const queue = [...ids];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift())
        await system.remove(id).catch(() => undefined);
    }),
  );
}

async function settledMemory() {
  await sleep(3000);
  return memAvailable();
}

/** Creates at once in the density run: the create throughput is compared at this concurrency. */
const DENSITY_CONCURRENCY = 8;

/**
 * `count` idle sandboxes per system, made by {@link DENSITY_CONCURRENCY} workers: the create throughput, host memory
 * each takes (MemAvailable drop / count), the server's RSS, and (for a system that can list) how long listing all of
 * them takes.
 */
export async function density(systems, counts, serverPid, log) {
  const result = {};
  for (const system of systems) {
    const count = typeof counts === 'function' ? counts(system) : counts;
    const before = await settledMemory();
    const rssBefore = rssOf(serverPid);
    const made = [];
    let failures = 0;
    const errors = [];
    const queue = Array.from({ length: count }, (_, i) => i);
    const start = performance.now();
    await Promise.all(
      Array.from({ length: DENSITY_CONCURRENCY }, async () => {
        while (queue.shift() !== undefined) {
          try {
            made.push(await system.create());
          } catch (error) {
            failures += 1;
            if (errors.length < 3) errors.push(error instanceof Error ? error.message : String(error));
          }
        }
      }),
    );
    const createMs = since(start);
    const listMs = [];
    if (system.list !== undefined) {
      for (let i = 0; i < 5; i += 1) listMs.push(await timed(() => system.list()));
    }
    const after = await settledMemory();
    const footprint = containerFootprint(await system.fullIds(made));
    const isServer = system.name.startsWith('burrow-');
    const rssAfter = rssOf(serverPid);
    const serverShare = isServer && made.length > 0 ? Math.max(0, rssAfter - rssBefore) / made.length : 0;
    const perSandbox =
      footprint.counted === 0
        ? NaN
        : (footprint.cgroup_bytes + footprint.shim_pss_bytes) / footprint.counted + serverShare;
    result[system.name] = {
      label: system.label,
      sandboxes: made.length,
      failures,
      errors,
      create_wall_ms: createMs,
      creates_per_s: made.length / (createMs / 1000),
      concurrency: DENSITY_CONCURRENCY,
      list_ms: listMs.length === 0 ? undefined : summarise(listMs).median,
      /** cgroup usage + containerd-shim PSS per container (+ the server's RSS growth per sandbox, for Burrow). */
      memory_per_sandbox_bytes: perSandbox,
      footprint,
      memavailable_drop_per_sandbox_bytes: made.length === 0 ? NaN : (before - after) / made.length,
      server_rss_before_bytes: isServer ? rssBefore : undefined,
      server_rss_after_bytes: isServer ? rssAfter : undefined,
    };
    log(
      `    ${system.label}: ${made.length} idle, ${(perSandbox / MiB).toFixed(1)} MiB each, ` +
        `${(made.length / (createMs / 1000)).toFixed(2)} creates/s`,
    );
    await removeAll(system, made);
  }
  return result;
}
