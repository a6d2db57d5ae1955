/** The markdown report: one table of timings with ratios against the baselines, density, and the targets. */
import { MIN_SAMPLES_FOR_P95 } from './stats.mjs';

const MiB = 1024 * 1024;

function ms(value) {
  if (!Number.isFinite(value)) return '—';
  if (value >= 100) return `${Math.round(value)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

function ratio(value, base) {
  if (!Number.isFinite(value) || !Number.isFinite(base) || base === 0) return '—';
  return `${(value / base).toFixed(2)}×`;
}

function mib(bytes) {
  return Number.isFinite(bytes) ? `${(bytes / MiB).toFixed(1)} MiB` : '—';
}

/** Rows of the main table: [scenario title, result, baseline keys for ratios, note(entry) ]. */
function timingRows(results) {
  const { scenarios } = results;
  const cold = scenarios.tti_cold?.systems ?? {};
  const rows = [];
  const add = (title, systems, baselines, note) => {
    for (const [name, entry] of Object.entries(systems ?? {})) {
      const base = baselines ?? systems;
      rows.push({
        title,
        system: entry.label,
        baseline: name === 'docker-cli' || name === 'engine-api',
        summary: entry.summary,
        failures: entry.failures,
        vsCli: ratio(entry.summary.median, base['docker-cli']?.summary.median),
        vsApi: ratio(entry.summary.median, base['engine-api']?.summary.median),
        note: note?.(entry, name) ?? '',
      });
    }
  };
  const rate = (bytes) => (entry) =>
    Number.isFinite(entry.summary.median)
      ? `${(bytes / MiB / (entry.summary.median / 1000)).toFixed(0)} MiB/s (median)`
      : '';
  add('Time to interactive, cold (create → first exec result)', cold, undefined, (_entry, name) =>
    name.startsWith('burrow-') ? 'a create the pool cannot serve' : '',
  );
  add(
    'Time to interactive, warm pool',
    scenarios.tti_warm?.systems,
    cold,
    () => 'ratios against the cold baselines',
  );
  add('Exec round trip (`echo hi`)', scenarios.exec_echo?.systems, undefined, (_entry, name) =>
    name === 'spawn-true' ? 'reference' : '',
  );
  add(
    'Exec with 10 MB of output',
    scenarios.exec_10mb?.systems,
    undefined,
    rate(scenarios.exec_10mb?.bytes ?? 0),
  );
  add(
    'Write a 100 MB file',
    scenarios.file_write_100mb?.systems,
    undefined,
    rate(scenarios.file_write_100mb?.bytes ?? 0),
  );
  add(
    'Read a 100 MB file',
    scenarios.file_read_100mb?.systems,
    undefined,
    rate(scenarios.file_read_100mb?.bytes ?? 0),
  );
  add('Snapshot + restore, 100 MB changed (to first exec)', scenarios.snapshot_restore?.systems);
  for (const key of ['fork_1', 'fork_5']) {
    const fork = scenarios[key];
    if (fork === undefined) continue;
    const restores = fork.systems['snapshot-restores']?.summary.median;
    add(
      `Fork into ${fork.count}, 100 MB changed (to first exec in every copy)`,
      fork.systems,
      undefined,
      (entry, name) =>
        name === 'fork' ? `${ratio(entry.summary.median, restores)} of snapshot + restores` : '',
    );
  }
  const dockerPublished = (key) => (entry, name) =>
    name === 'docker-publish'
      ? 'baseline: no tunnel'
      : `${ratio(entry.summary.median, scenarios[key]?.systems?.['docker-publish']?.summary.median)} the Docker-published port`;
  add(
    'HTTP request to a sandbox port (small file)',
    scenarios.preview_latency?.systems,
    {},
    dockerPublished('preview_latency'),
  );
  add(
    '100 MB download from a sandbox port',
    scenarios.preview_100mb?.systems,
    {},
    (entry, name) =>
      `${rate(scenarios.preview_100mb?.bytes ?? 0)(entry)}; ${dockerPublished('preview_100mb')(entry, name)}`,
  );
  add(
    `Burst of ${scenarios.burst?.count ?? '?'} concurrent creates (each)`,
    scenarios.burst?.systems,
    undefined,
    (entry) => `wall ${ms(entry.wallMs)}, p95/p50 ${ratio(entry.summary.p95, entry.summary.median)}`,
  );
  const vsBurrowSdk = (systems) => (entry, name) =>
    name === 'burrow-sdk'
      ? 'reference'
      : `${ratio(entry.summary.median, systems?.['burrow-sdk']?.summary.median)} Burrow SDK`;
  add(
    `E2B SDK \`commands.run('echo hi')\` (image ${scenarios.e2b_exec?.image ?? '?'})`,
    scenarios.e2b_exec?.systems,
    undefined,
    vsBurrowSdk(scenarios.e2b_exec?.systems),
  );
  add(
    'E2B SDK `Sandbox.create()` to first command (cold)',
    scenarios.e2b_tti?.systems,
    undefined,
    vsBurrowSdk(scenarios.e2b_tti?.systems),
  );
  return rows;
}

/** Rows of the terminals table: each system against the scenario's reference, measured in the same run. */
function interactiveRows(results) {
  const { scenarios } = results;
  const rows = [];
  const add = (title, scenario, reference, note) => {
    const systems = scenario?.systems ?? {};
    const base = systems[reference]?.summary.median;
    for (const [name, entry] of Object.entries(systems)) {
      rows.push({
        title,
        system: entry.label,
        summary: entry.summary,
        failures: entry.failures,
        ratio: name === reference ? 'reference' : ratio(entry.summary.median, base),
        note: note?.(entry) ?? '',
      });
    }
  };
  add('Keystroke echo round trip', scenarios.pty_echo, 'local-pty');
  add('Attach with replay of 1 MiB of output (to the last byte)', scenarios.attach_replay, 'docker-logs');
  const bytes = scenarios.pty_throughput?.bytes ?? 0;
  add('10 MB of output through a terminal', scenarios.pty_throughput, 'burrow-plain', (entry) =>
    Number.isFinite(entry.summary.median)
      ? `${(bytes / MiB / (entry.summary.median / 1000)).toFixed(0)} MiB/s (median)`
      : '',
  );
  return rows;
}

export function markdown(results) {
  const lines = [];
  const m = results.machine;
  lines.push(
    `Command: \`${results.command}\` (${results.mode} mode), ${results.started_at}, ${Math.round(results.duration_s)} s.`,
  );
  lines.push('');
  lines.push(
    `Machine: ${m.cpus} × ${m.cpu_model}, ${(m.memory_bytes / 1024 ** 3).toFixed(1)} GiB, ${m.os}, kernel ${m.kernel}, ` +
      `Docker ${m.docker_server} (${m.docker_storage}), Node ${m.node}. Image \`${results.config.image}\`, ` +
      `warm pool ${results.config.warm_pool_size}, Burrow exec transport: ${results.config.transport}. ` +
      `Load average at start ${results.load_average.start.map((value) => value.toFixed(2)).join(' / ')}, ` +
      `at end ${results.load_average.end.map((value) => value.toFixed(2)).join(' / ')}.`,
  );
  lines.push('');
  lines.push(
    `Every transfer is checked (byte count and SHA-256) on every system; p95 is given only where n ≥ ${MIN_SAMPLES_FOR_P95} ` +
      '(with fewer samples it is the maximum).',
  );
  lines.push('');
  lines.push('| Scenario | System | n | median | p95 | min | max | × Docker CLI | × Engine API | notes |');
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|---|');
  let previous = '';
  for (const row of timingRows(results)) {
    const s = row.summary;
    const title = row.title === previous ? '' : row.title;
    previous = row.title;
    const failures = row.failures > 0 ? `**${row.failures} failed** ` : '';
    lines.push(
      `| ${title} | ${row.system} | ${s.n} | ${ms(s.median)} | ${ms(s.p95)} | ${ms(s.min)} | ${ms(s.max)} | ` +
        `${row.baseline ? '' : row.vsCli} | ${row.baseline ? '' : row.vsApi} | ${failures}${row.note} |`,
    );
  }
  const terminalRows = interactiveRows(results);
  if (terminalRows.length > 0) {
    lines.push('');
    lines.push('Terminals and background processes, each against its reference in this run:');
    lines.push('');
    lines.push('| Scenario | System | n | median | p95 | min | max | × reference | notes |');
    lines.push('|---|---|--:|--:|--:|--:|--:|--:|---|');
    let last = '';
    for (const row of terminalRows) {
      const s = row.summary;
      const title = row.title === last ? '' : row.title;
      last = row.title;
      const failures = row.failures > 0 ? `**${row.failures} failed** ` : '';
      lines.push(
        `| ${title} | ${row.system} | ${s.n} | ${ms(s.median)} | ${ms(s.p95)} | ${ms(s.min)} | ${ms(s.max)} | ` +
          `${row.ratio} | ${failures}${row.note} |`,
      );
    }
  }
  const density = results.scenarios.density;
  if (density !== undefined) {
    lines.push('');
    lines.push(
      `Density: ${density.count} idle sandboxes per system. Memory per sandbox = its container's memory cgroup usage + ` +
        "its containerd-shim's PSS (+ the server's RSS growth / count, for Burrow); MemAvailable drop / count for comparison.",
    );
    lines.push('');
    lines.push(
      '| System | held | failed | memory per sandbox | MemAvailable drop per sandbox | create wall time | server RSS before → after |',
    );
    lines.push('|---|--:|--:|--:|--:|--:|---|');
    for (const entry of Object.values(density.systems)) {
      const rss =
        entry.server_rss_before_bytes === undefined
          ? ''
          : `${mib(entry.server_rss_before_bytes)} → ${mib(entry.server_rss_after_bytes)}`;
      lines.push(
        `| ${entry.label} | ${entry.sandboxes} | ${entry.failures} | ${mib(entry.memory_per_sandbox_bytes)} | ` +
          `${mib(entry.memavailable_drop_per_sandbox_bytes)} | ${ms(entry.create_wall_ms)} | ${rss} |`,
      );
    }
  }
  lines.push('');
  const steps = Object.entries(results.server_rss.after_step ?? {})
    .map(([key, bytes]) => `${key} ${mib(bytes)}`)
    .join(', ');
  lines.push(
    `Server RSS: ${mib(results.server_rss.start_bytes)} at start, max ${mib(results.server_rss.max_bytes)} over the run ` +
      `(sampled every 250 ms); after each step: ${steps}.`,
  );
  lines.push('');
  lines.push('Targets of issue 7 (same-run ratios; reported, never asserted):');
  lines.push('');
  lines.push('| Target | Measured | Met |');
  lines.push('|---|---|---|');
  for (const target of results.targets)
    lines.push(`| ${target.target} | ${target.measured} | ${target.met ? 'yes' : '**no**'} |`);
  const errors = Object.entries(results.scenarios).flatMap(([key, scenario]) =>
    Object.values(scenario.systems ?? {}).flatMap((entry) =>
      (entry.errors ?? []).map((error) => `${key} / ${entry.label}: ${error}`),
    ),
  );
  if (errors.length > 0) {
    lines.push('');
    lines.push('Errors (first of each):');
    lines.push('');
    for (const error of errors) lines.push(`- ${error.replace(/\n/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The targets, evaluated on this run's medians. */
export function targets(results) {
  const s = results.scenarios;
  const median = (key, name) => s[key]?.systems?.[name]?.summary?.median ?? NaN;
  const list = [];
  const check = (target, value, limit, measured) =>
    list.push({ target, measured, met: Number.isFinite(value) && value <= limit });
  const execRatio = median('exec_echo', 'burrow-sdk') / median('exec_echo', 'docker-cli');
  check('exec round trip ≤ 0.10 × `docker exec` CLI', execRatio, 0.1, `${execRatio.toFixed(3)}×`);
  const execSpawn = median('exec_echo', 'burrow-sdk') / median('exec_echo', 'spawn-true');
  check('exec round trip ≤ 3 × spawn(/bin/true)', execSpawn, 3, `${execSpawn.toFixed(2)}×`);
  const warm = median('tti_warm', 'burrow-warm') / median('exec_echo', 'spawn-true');
  check(
    'warm time to interactive ≤ 5 × spawn(/bin/true)',
    warm,
    5,
    `${warm.toFixed(2)}× (${ms(median('tti_warm', 'burrow-warm'))})`,
  );
  const cold = median('tti_cold', 'burrow-sdk') / median('tti_cold', 'docker-run-rm');
  check('cold time to interactive ≤ 0.5 × `docker run --rm`', cold, 0.5, `${cold.toFixed(2)}×`);
  for (const [key, what] of [
    ['file_write_100mb', 'write'],
    ['file_read_100mb', 'read'],
  ]) {
    const rate = (s[key]?.bytes ?? 0) / MiB / (median(key, 'burrow-sdk') / 1000);
    list.push({
      target: `100 MB ${what} ≥ 200 MB/s`,
      measured: `${rate.toFixed(0)} MiB/s`,
      met: rate >= 200,
    });
  }
  const rss = results.server_rss.max_bytes;
  list.push({ target: 'server RSS ≤ 200 MB throughout', measured: mib(rss), met: rss <= 200 * 1000 * 1000 });
  const b = s.burst?.systems?.['burrow-sdk'];
  if (b !== undefined) {
    const spread = b.summary.p95 / b.summary.median;
    list.push({
      target: `burst of ${s.burst.count} creates: no failure, p95 ≤ 3 × p50`,
      measured: `${b.failures} failed, p95/p50 ${spread.toFixed(2)}`,
      met: b.failures === 0 && spread <= 3,
    });
  }
  const d = s.density?.systems?.['burrow-sdk'];
  if (d !== undefined) {
    list.push({
      target: '500 idle sandboxes held on this machine',
      measured: `${d.sandboxes} held in this run (${mib(d.memory_per_sandbox_bytes)} each)`,
      met: d.sandboxes >= 500 && d.failures === 0,
    });
  }
  // Steps left out with --only measure nothing.
  return list.filter((target) => !target.measured.includes('NaN'));
}
