#!/usr/bin/env node
/**
 * `npm run bench [-- --quick] [--image <ref>] [--e2b-image <ref>] [--density <n>] [--density-baselines <n>]
 *   [--burst <n>] [--pool <n>] [--only <steps>] [--out <dir>]`
 *
 * `--density-baselines <n>`: the Docker baselines of the density step hold n containers (default: as many as
 * Burrow), so a run of thousands of sandboxes need not wait for thousands of baseline containers too.
 *
 * Starts a real `burrow serve` (loopback, free port, throwaway data directory, a warm pool of the bench image) and
 * measures it, driven by the clients its users use (the SDK and curl), against the Docker CLI and the raw Engine
 * API doing the same jobs, interleaved in one run; every transfer is checked byte for byte (SHA-256). It also runs
 * E2B's SDK against Burrow's own through the server's E2B endpoint (`--e2b-image`, default burrow-test/debian:latest:
 * E2B's commands need bash). Writes `<out>/latest.json` and `<out>/latest.md` (default out: bench/results).
 * Benchmarks are not tests: nothing here asserts a timing. The run fails when a job fails, a removal fails, or
 * anything it made is still there once the server has stopped (a leak); what is left is then reported and removed
 * (also after a failure or Ctrl-C).
 *
 * Needs a Docker engine, `npm run build`, and the image (`bash images/build-test-images.sh` builds the default,
 * burrow-test/busybox:latest).
 */
import { readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { leftovers, removeNetworks, RUN_LABEL, sweep } from './lib/cleanup.mjs';
import { curlSystem, sdkSystem } from './lib/burrow-systems.mjs';
import { gvisorAvailable, gvisorPoolConfig, gvisorVsRunc } from './lib/gvisor.mjs';
import { describeMachine, rssOf } from './lib/machine.mjs';
import { markdown, targets } from './lib/report.mjs';
import * as interactive from './lib/interactive.mjs';
import { previewProxy } from './lib/preview.mjs';
import * as scenario from './lib/scenarios.mjs';
import { e2bExec, e2bTti, sdkSystems, useE2bEndpoint } from './lib/e2b.mjs';
import { burrowClient, startBurrow } from './lib/server.mjs';
import {
  apiSystem,
  cliSystem,
  dockerCpSystem,
  hostImageSystem,
  hostSystem,
  MiB,
  run,
} from './lib/systems.mjs';
import { makePayload, writePayloadFile } from './lib/verify.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    image: { type: 'string', default: 'burrow-test/busybox:latest' },
    'e2b-image': { type: 'string', default: 'burrow-test/debian:latest' },
    density: { type: 'string' },
    'density-baselines': { type: 'string' },
    burst: { type: 'string' },
    pool: { type: 'string', default: '4' },
    out: { type: 'string', default: join(root, 'bench/results') },
    only: { type: 'string' },
  },
});
const STEPS = [
  'tti_cold',
  'tti_warm',
  'exec_echo',
  'exec_10mb',
  'files',
  'file_900mib',
  'snapshot_restore',
  'fork',
  'burst',
  'density',
  'pty_echo',
  'attach_replay',
  'pty_throughput',
  'e2b',
  'preview',
  'gvisor',
];
/** `--only density,burst`: run just these steps. */
const ONLY = args.only === undefined ? undefined : new Set(args.only.split(','));
for (const key of ONLY ?? []) {
  if (!STEPS.includes(key)) throw new Error(`--only: unknown step "${key}": use ${STEPS.join(', ')}`);
}

const PLAN = args.quick
  ? {
      tti: 3,
      exec: 15,
      exec10: 2,
      file: 1,
      large: 1,
      snapshot: 1,
      fork: 1,
      burst: 10,
      density: 10,
      echo: 15,
      replay: 3,
      ptyRuns: 2,
      e2bTti: 3,
      e2bExec: 15,
      preview: 20,
      preview100: 1,
      gvisor: { tti: 3, exec: 15, file: 1, idle: 3 },
    }
  : {
      tti: 15,
      exec: 50,
      exec10: 5,
      file: 3,
      large: 2,
      snapshot: 3,
      fork: 3,
      burst: 50,
      density: 100,
      echo: 50,
      replay: 10,
      ptyRuns: 5,
      e2bTti: 10,
      e2bExec: 50,
      preview: 100,
      preview100: 3,
      gvisor: { tti: 10, exec: 50, file: 3, idle: 10 },
    };
if (args.burst !== undefined) PLAN.burst = Number(args.burst);
if (args.density !== undefined) PLAN.density = Number(args.density);
PLAN.densityBaselines =
  args['density-baselines'] === undefined ? PLAN.density : Number(args['density-baselines']);

const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const networkId = `burrow-bench-${runId}`;
const log = (message) => process.stderr.write(`${message}\n`);
let server;
/** Payload files and files read back (removed at the end). */
let scratch;
/** Whether this run measures gVisor (runsc registered with Docker). */
const withGvisor = (ONLY === undefined || ONLY.has('gvisor')) && gvisorAvailable();
const GVISOR_POOL = 2;
/** Removals that failed (a destroy Burrow refused, a container Docker would not remove): each fails the run. */
const failedRemovals = [];

/** A system whose removals are recorded when they fail (scenarios go on after one; the run then fails). */
function tracked(system) {
  const record = (what, work) => async (made) => {
    try {
      return await work(made);
    } catch (error) {
      failedRemovals.push(
        `${system.label}: ${what} ${JSON.stringify(made)}: ${error instanceof Error ? error.message : String(error)}`,
      );
      throw error;
    }
  };
  return {
    ...system,
    remove: record('remove', (id) => system.remove(id)),
    removeSnapshotResult: record('remove snapshot result', (made) => system.removeSnapshotResult(made)),
  };
}

/**
 * Looks for sandboxes the server still holds, stops it (it destroys them and drains its warm pool), then looks for
 * anything of this run still in Docker: both are leaks. Leaks are reported and returned, then removed. Safe to call
 * more than once and from a signal handler.
 */
async function cleanUp() {
  const labels = [`${RUN_LABEL}=${runId}`];
  const leaks = [];
  if (server !== undefined) {
    const current = server;
    server = undefined;
    // Every sandbox the bench made was destroyed by it; one the server still holds would be destroyed by its
    // destroy_on_exit below, hiding the leak.
    const held = await burrowClient(current.url)
      .list()
      .catch((error) => [
        { id: `(could not list: ${error instanceof Error ? error.message : String(error)})` },
      ]);
    for (const sandbox of held) leaks.push(`sandbox ${sandbox.id} still held by the server`);
    const stopped = await current.stop().catch(() => undefined);
    if (stopped === undefined || stopped.code !== 0) {
      failedRemovals.push(
        `burrow serve did not stop cleanly (${JSON.stringify(stopped)}); log tail:\n${current.tail()}`,
      );
      current.kill();
    }
    labels.push(`burrow.instance=${current.instance}`);
    await rm(current.dataDir, { recursive: true, force: true }).catch(() => undefined);
  }
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  leaks.push(...labels.flatMap((label) => leftovers(label)));
  for (const label of labels) sweep(label);
  const networks = removeNetworks(networkId);
  for (const refusal of networks.refused) leaks.push(`network ${refusal}`);
  for (const name of networks.stale)
    log(
      `warning: Docker kept network ${name} with no container attached but endpoints still counted ` +
        '(its own bookkeeping; a dockerd restart clears it)',
    );
  return leaks;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    log(`\n${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main() {
  const started = new Date();
  const loadStart = loadavg();
  const machine = describeMachine();
  await run('docker', ['image', 'inspect', args.image]).catch(() => {
    throw new Error(
      `image ${args.image} is not available locally: run "bash images/build-test-images.sh" (or pass --image)`,
    );
  });
  log(
    `bench ${args.quick ? '(quick) ' : ''}on ${machine.cpus} CPUs, ${(machine.memory_bytes / 1024 ** 3).toFixed(1)} GiB, Docker ${machine.docker_server}`,
  );
  await run('docker', ['image', 'inspect', args['e2b-image']]).catch(() => {
    throw new Error(
      `image ${args['e2b-image']} is not available locally: run "bash images/build-test-images.sh"`,
    );
  });
  server = await startBurrow({
    root,
    image: args.image,
    warmPoolSize: Number(args.pool),
    networkId,
    e2bImage: args['e2b-image'],
    ...(withGvisor ? { config: gvisorPoolConfig(args.image, GVISOR_POOL) } : {}),
  });
  const client = burrowClient(server.url);
  scratch = await mkdtemp(join(tmpdir(), 'burrow-bench-files-'));
  const transport = /"transport":"(\w+)"/.exec(readFileSync(server.log, 'utf8'))?.[1];
  const systems = {
    sdk: tracked(sdkSystem(server.url, { dir: scratch })),
    curl: tracked(curlSystem(server.url, { dir: scratch })),
    multipart: tracked(curlSystem(server.url, { dir: scratch, multipart: true })),
    cli: tracked(cliSystem({ image: args.image, runId })),
    api: tracked(apiSystem({ image: args.image, runId })),
    dockerCp: tracked(dockerCpSystem({ image: args.image, runId, dir: scratch })),
    host: tracked(hostSystem({ runId, dir: scratch })),
    hostImage: tracked(hostImageSystem({ image: args.image, runId, dir: scratch })),
    client,
  };
  const all = [systems.sdk, systems.curl, systems.cli, systems.api];
  const trio = [systems.sdk, systems.cli, systems.api];
  let rssMax = 0;
  const rssStart = rssOf(server.pid);
  const rssAfterStep = {};
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssOf(server?.pid) || 0)), 250);

  const scenarios = {};
  const step = async (key, title, work, extra = {}) => {
    if (ONLY !== undefined && !ONLY.has(key)) return;
    log(`- ${title}`);
    const at = performance.now();
    const outcome = await work();
    if (key === 'e2b') {
      scenarios.e2b_exec = {
        title: "commands.run('echo hi')",
        image: args['e2b-image'],
        systems: outcome.exec,
      };
      scenarios.e2b_tti = {
        title: 'create to first command',
        image: args['e2b-image'],
        systems: outcome.tti,
      };
    } else if (key === 'preview') {
      scenarios.preview_latency = { title: 'HTTP request to a sandbox port', systems: outcome.latency };
      scenarios.preview_100mb = {
        title: '100 MB download from a sandbox port',
        bytes: outcome.bytes,
        systems: outcome.download,
      };
    } else if (key === 'files') {
      scenarios.file_write_100mb = { title: 'write a 100 MB file', bytes: 100 * MiB, systems: outcome.write };
      scenarios.file_read_100mb = { title: 'read a 100 MB file', bytes: 100 * MiB, systems: outcome.read };
    } else if (key === 'gvisor') {
      // One scenario per measure, each with runc and gVisor as its systems (read by the report's gVisor table).
      for (const [measure, systems] of Object.entries(outcome))
        scenarios[`gvisor_${measure}`] = {
          title: `gVisor against runc: ${measure}`,
          ...(measure === 'idle' ? { count: PLAN.gvisor.idle } : {}),
          systems,
        };
    } else if (key === 'fork') {
      for (const [count, systems] of Object.entries(outcome)) {
        scenarios[`fork_${count}`] = {
          title: `fork into ${count}, 100 MB changed`,
          count: Number(count),
          systems,
        };
      }
    } else {
      scenarios[key] = { title, ...extra, systems: outcome };
    }
    rssAfterStep[key] = rssOf(server.pid);
    log(`  done in ${((performance.now() - at) / 1000).toFixed(1)} s`);
  };
  try {
    await scenario.poolFull(client);
    await step('tti_cold', 'time to interactive, cold', () => scenario.ttiCold(systems, PLAN.tti, log));
    await step('tti_warm', 'time to interactive, warm pool', () => scenario.ttiWarm(systems, PLAN.tti, log));
    await step('exec_echo', 'exec round trip', () => scenario.execEcho(all, PLAN.exec, log));
    await step(
      'exec_10mb',
      'exec with 10 MB output',
      () => scenario.execBig([...all, systems.hostImage, systems.host], PLAN.exec10, 10 * MiB, log),
      {
        bytes: 10 * MiB,
      },
    );
    // The 100 MB payload file, written once for the steps that send it (files, gvisor).
    let payload;
    const payload100 = async () => (payload ??= await writePayloadFile(makePayload(100 * MiB), scratch));
    await step('files', '100 MB file write and read', async () =>
      scenario.fileRoundTrip(
        [...all, systems.multipart, systems.dockerCp, systems.host],
        PLAN.file,
        await payload100(),
        log,
      ),
    );
    await step(
      'file_900mib',
      'write a 900 MiB file (curl)',
      async () =>
        scenario.largeWrite(
          systems.curl,
          PLAN.large,
          await writePayloadFile(makePayload(900 * MiB), scratch),
          log,
        ),
      { bytes: 900 * MiB },
    );
    await step('snapshot_restore', 'snapshot + restore, 100 MB changed', () =>
      scenario.snapshotRestore(all, PLAN.snapshot, 100 * MiB, log),
    );
    await step('fork', 'fork into 1 and 5, 100 MB changed, against snapshot + restores', async () => ({
      1: await scenario.forkVsRestores(client, 1, PLAN.fork, 100 * MiB, log),
      5: await scenario.forkVsRestores(client, 5, PLAN.fork, 100 * MiB, log),
    }));
    await step(
      'burst',
      `burst of ${PLAN.burst} concurrent creates`,
      () => scenario.burst(trio, PLAN.burst, log),
      {
        count: PLAN.burst,
      },
    );
    await step(
      'density',
      `density: ${PLAN.density} idle sandboxes`,
      () =>
        scenario.density(
          [
            systems.sdk,
            systems.cli,
            // The network Burrow's sandboxes join (internal by default): what attaching to it costs Docker itself.
            tracked(cliSystem({ image: args.image, runId, network: `${networkId}-internal` })),
          ],
          (system) => (system === systems.sdk ? PLAN.density : PLAN.densityBaselines),
          server.pid,
          log,
        ),
      { count: PLAN.density },
    );
    const context = { client, url: server.url, image: args.image, runId };
    await step('pty_echo', 'keystroke echo through a terminal', () =>
      interactive.ptyEcho(context, PLAN.echo, log),
    );
    await step('attach_replay', 'attach with replay of 1 MiB of output', () =>
      interactive.replay(context, PLAN.replay, log),
    );
    await step(
      'pty_throughput',
      'output throughput through a terminal, 10 MB',
      () => interactive.ptyThroughput(context, PLAN.ptyRuns, 10 * MiB, log),
      { bytes: 10 * MiB },
    );
    await step(
      'e2b',
      "E2B's SDK against Burrow's: commands.run('echo hi'), create to first command",
      async () => {
        useE2bEndpoint(server.e2bUrl);
        const sdks = sdkSystems(server.url, args['e2b-image']);
        return { exec: await e2bExec(sdks, PLAN.e2bExec, log), tti: await e2bTti(sdks, PLAN.e2bTti, log) };
      },
    );
    if (withGvisor)
      await step(
        'gvisor',
        'gVisor against runc (SDK): time to interactive, exec, 100 MB, idle memory',
        async () =>
          gvisorVsRunc({
            runc: tracked(sdkSystem(server.url, { dir: scratch, name: 'burrow-runc', label: 'runc' })),
            gvisor: tracked(
              sdkSystem(server.url, {
                dir: scratch,
                runtime: 'gvisor',
                name: 'burrow-gvisor',
                label: 'gVisor',
              }),
            ),
            client,
            plan: PLAN.gvisor,
            payload: await payload100(),
            serverPid: server.pid,
            log,
          }),
      );
    else if (ONLY === undefined || ONLY.has('gvisor'))
      log('- gVisor: runsc is not registered with Docker (bash scripts/setup-host.sh registers it): skipped');
    await step('preview', 'preview URL vs published ports: latency and 100 MB download', () =>
      previewProxy({
        client,
        serverUrl: server.url,
        image: args.image,
        runId,
        small: PLAN.preview,
        big: PLAN.preview100,
        log,
      }),
    );
  } finally {
    clearInterval(sampler);
  }

  const results = {
    load_average: { start: loadStart, end: loadavg() },
    bench: 'burrow',
    mode: args.quick ? 'quick' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    started_at: started.toISOString(),
    duration_s: (Date.now() - started.getTime()) / 1000,
    machine,
    config: {
      image: args.image,
      warm_pool_size: Number(args.pool),
      transport: transport ?? 'unknown',
      plan: PLAN,
    },
    server_rss: { start_bytes: rssStart, max_bytes: rssMax, after_step: rssAfterStep },
    scenarios,
  };
  results.targets = targets(results);
  await mkdir(args.out, { recursive: true });
  await writeFile(join(args.out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  const table = markdown(results);
  await writeFile(join(args.out, 'latest.md'), table);
  process.stdout.write(`\n${table}`);
  log(`wrote ${join(args.out, 'latest.json')} and latest.md`);
  const failures = Object.values(scenarios).flatMap((entry) =>
    Object.values(entry.systems).filter((system) => (system.failures ?? 0) > 0),
  );
  // Not a timing assertion: a job that failed means something is broken (in Burrow or in the bench).
  if (failures.length > 0)
    throw new Error(`${failures.length} system/scenario pair(s) had failed jobs (see the Errors list)`);
}

let failed = false;
try {
  await main();
} catch (error) {
  failed = true;
  log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  if (server !== undefined) log(`server log tail:\n${server.tail()}`);
}
// Not swept silently: a removal that failed, or anything left once the server stopped, is a bug and fails the run.
const leaks = await cleanUp();
for (const [what, list] of [
  ['failed removals', failedRemovals],
  ['leaked (found after the server stopped, then removed)', leaks],
]) {
  if (list.length === 0) continue;
  failed = true;
  log(`bench failed: ${list.length} ${what}:`);
  for (const entry of list.slice(0, 20)) log(`  - ${entry}`);
}
process.exit(failed ? 1 : 0);
