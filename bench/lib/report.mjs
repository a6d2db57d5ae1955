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
  const median = (systems, name) => systems?.[name]?.summary.median;
  /** The rate, and for Burrow's clients the time against the named references in this run. */
  const against = (bytes, systems, references) => (entry, name) => {
    const parts = [rate(bytes)(entry)];
    if (name.startsWith('burrow-'))
      for (const [reference, what] of references)
        parts.push(`${ratio(entry.summary.median, median(systems, reference))} ${what}`);
    return parts.filter((part) => part !== '').join('; ');
  };
  const exec10 = scenarios.exec_10mb;
  add(
    'Exec with 10 MB of output',
    exec10?.systems,
    undefined,
    against(exec10?.bytes ?? 0, exec10?.systems, [
      ['host-image', "the pipeline on the host with the image's programs"],
      ['host', "with the host's own (Debian's coreutils)"],
    ]),
  );
  for (const [key, title] of [
    ['file_write_100mb', 'Write a 100 MB file'],
    ['file_read_100mb', 'Read a 100 MB file'],
  ]) {
    const files = scenarios[key];
    add(
      title,
      files?.systems,
      undefined,
      against(files?.bytes ?? 0, files?.systems, [
        ['docker-cp', '`docker cp`'],
        ['host', 'host tmpfs `cp`'],
      ]),
    );
  }
  const large = scenarios.file_900mib;
  const curl100 = median(scenarios.file_write_100mb?.systems, 'burrow-curl');
  add('Write a 900 MiB file', large?.systems, undefined, (entry) => {
    const per = (value, bytes) => bytes / MiB / (value / 1000);
    const rateLarge = per(entry.summary.median, large?.bytes ?? 0);
    const rate100 = per(curl100, scenarios.file_write_100mb?.bytes ?? 0);
    return `${rate(large?.bytes ?? 0)(entry)}; ${ratio(rateLarge, rate100)} the 100 MB write's rate`;
  });
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

const GVISOR_ROWS = [
  ['tti_cold', 'Time to interactive, cold', 'a create the pool cannot serve'],
  ['tti_warm', 'Time to interactive, warm pool', 'each runtime has its own pool'],
  ['exec_echo', 'Exec round trip (`echo hi`)', ''],
  ['file_write', 'Write a 100 MB file', ''],
  ['file_read', 'Read a 100 MB file', ''],
];

/** Idle sandboxes per system: memory, create rate (and its ratio against `base`), list time, server RSS. */
function densityTable(systems, base) {
  const lines = [
    '| System | held | failed | memory per sandbox | MemAvailable drop per sandbox | create wall time | creates/s | list | server RSS before → after |',
    '|---|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const entry of Object.values(systems)) {
    const rss =
      entry.server_rss_before_bytes === undefined
        ? ''
        : `${mib(entry.server_rss_before_bytes)} → ${mib(entry.server_rss_after_bytes)}`;
    const rate = Number.isFinite(entry.creates_per_s) ? entry.creates_per_s.toFixed(2) : '—';
    const versus =
      base !== undefined && base !== entry ? ` (${ratio(entry.creates_per_s, base.creates_per_s)})` : '';
    lines.push(
      `| ${entry.label} | ${entry.sandboxes} | ${entry.failures} | ${mib(entry.memory_per_sandbox_bytes)} | ` +
        `${mib(entry.memavailable_drop_per_sandbox_bytes)} | ${ms(entry.create_wall_ms)} | ${rate}${versus} | ` +
        `${entry.list_ms === undefined ? '' : ms(entry.list_ms)} | ${rss} |`,
    );
  }
  return lines.join('\n');
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
    const concurrency = Object.values(density.systems)[0]?.concurrency ?? '?';
    lines.push(
      `Density: ${density.count} idle sandboxes for Burrow (the baselines: see held), created ${concurrency} at a time. Memory per sandbox = its ` +
        "container's memory cgroup usage + its containerd-shim's PSS (+ the server's RSS growth / count, for Burrow); " +
        'MemAvailable drop / count for comparison. The list time is `GET /sandboxes` (SDK) with all of them held.',
    );
    lines.push('');
    lines.push(densityTable(density.systems, density.systems['docker-cli']));
  }
  const gvisor = Object.fromEntries(
    Object.entries(results.scenarios)
      .filter(([key]) => key.startsWith('gvisor_'))
      .map(([key, scenario]) => [key.slice('gvisor_'.length), scenario.systems]),
  );
  if (Object.keys(gvisor).length > 0) {
    lines.push('');
    lines.push(
      'gVisor against runc: the same jobs through the SDK, interleaved, one server with a warm pool of each ' +
        '(what the second kernel costs):',
    );
    lines.push('');
    lines.push('| Scenario | runc median | gVisor median | gVisor × runc | n | notes |');
    lines.push('|---|--:|--:|--:|--:|---|');
    for (const [key, title, note] of GVISOR_ROWS) {
      const runc = gvisor[key]?.['burrow-runc'];
      const gv = gvisor[key]?.['burrow-gvisor'];
      if (runc === undefined || gv === undefined) continue;
      const failures = runc.failures + gv.failures > 0 ? `**${runc.failures + gv.failures} failed** ` : '';
      lines.push(
        `| ${title} | ${ms(runc.summary.median)} | ${ms(gv.summary.median)} | ` +
          `${ratio(gv.summary.median, runc.summary.median)} | ${gv.summary.n} | ${failures}${note} |`,
      );
    }
    const idle = gvisor.idle;
    if (idle !== undefined) {
      lines.push('');
      lines.push(densityTable(idle, idle['burrow-runc']));
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
  lines.push('Targets (same-run ratios; reported, never asserted):');
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
  const times = (target, value, limit) => check(target, value, limit, `${value.toFixed(2)}×`);
  for (const [client, name] of [
    ['curl', 'burrow-curl'],
    ['SDK', 'burrow-sdk'],
  ]) {
    for (const [key, what] of [
      ['file_write_100mb', 'write'],
      ['file_read_100mb', 'read'],
    ]) {
      times(
        `100 MB ${what} (${client}) ≥ 2× as fast as \`docker cp\` (time ≤ 0.5×)`,
        median(key, name) / median(key, 'docker-cp'),
        0.5,
      );
      times(
        `100 MB ${what} (${client}) within 2× of host tmpfs \`cp\``,
        median(key, name) / median(key, 'host'),
        2,
      );
    }
    times(
      `exec with 10 MB of output (${client}) ≥ 2× as fast as \`docker exec\` CLI (time ≤ 0.5×)`,
      median('exec_10mb', name) / median('exec_10mb', 'docker-cli'),
      0.5,
    );
    times(
      `exec with 10 MB of output (${client}) within 3× of the same pipeline on the host (the image's programs)`,
      median('exec_10mb', name) / median('exec_10mb', 'host-image'),
      3,
    );
    times(
      `exec with 10 MB of output (${client}) within 3× of the pipeline with the host's own programs`,
      median('exec_10mb', name) / median('exec_10mb', 'host'),
      3,
    );
  }
  for (const key of ['file_write_100mb', 'file_read_100mb']) {
    times(
      `multipart ${key.includes('write') ? 'upload' : 'download'} at the raw route's rate (time ≤ 1.1×)`,
      median(key, 'burrow-curl-multipart') / median(key, 'burrow-curl'),
      1.1,
    );
  }
  const largeRate = (s.file_900mib?.bytes ?? 0) / median('file_900mib', 'burrow-curl');
  const smallRate = (s.file_write_100mb?.bytes ?? 0) / median('file_write_100mb', 'burrow-curl');
  list.push({
    target: "900 MiB write at the 100 MB write's rate (≥ 0.9×, curl)",
    measured: `${(largeRate / smallRate).toFixed(2)}×`,
    met: largeRate / smallRate >= 0.9,
  });
  const snapshot = median('snapshot_restore', 'burrow-sdk');
  check(
    'snapshot + restore, 100 MB changed, to first exec ≤ 2 s (SDK)',
    snapshot,
    2000,
    `${ms(snapshot)} (\`docker commit\` + \`run\`: ${ms(median('snapshot_restore', 'docker-cli'))})`,
  );
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
  const docker = s.density?.systems?.['docker-cli'];
  if (d !== undefined) {
    list.push({
      target: '2,000 idle sandboxes held, no failure',
      measured: `${d.sandboxes} held in this run, ${d.failures} failed (${mib(d.memory_per_sandbox_bytes)} each)`,
      met: d.sandboxes >= 2000 && d.failures === 0,
    });
    if (docker !== undefined) {
      const rate = d.creates_per_s / docker.creates_per_s;
      list.push({
        target: `create throughput at concurrency ${d.concurrency} ≥ 0.9× \`docker run -d\``,
        measured: `${rate.toFixed(2)}× (${d.creates_per_s.toFixed(2)} against ${docker.creates_per_s.toFixed(2)} a second)`,
        met: rate >= 0.9,
      });
    }
    const sameNetwork = s.density?.systems?.['docker-cli-network'];
    if (sameNetwork !== undefined) {
      const rate = d.creates_per_s / sameNetwork.creates_per_s;
      list.push({
        target: `create throughput at concurrency ${d.concurrency} ≥ 0.9× \`docker run -d\` on the sandboxes' network`,
        measured: `${rate.toFixed(2)}× (${d.creates_per_s.toFixed(2)} against ${sameNetwork.creates_per_s.toFixed(2)} a second)`,
        met: rate >= 0.9,
      });
    }
  }
  const warmRunc = median('gvisor_tti_warm', 'burrow-runc');
  const warmGvisor = median('gvisor_tti_warm', 'burrow-gvisor');
  if (Number.isFinite(warmRunc) && Number.isFinite(warmGvisor)) {
    times("gVisor warm time to interactive near runc's (≤ 2×)", warmGvisor / warmRunc, 2);
  }
  // Steps left out with --only measure nothing.
  return list.filter((target) => !/NaN|^—/.test(target.measured));
}
