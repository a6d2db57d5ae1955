/** What the numbers were measured on. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

function docker(format) {
  try {
    return execFileSync('docker', [...format], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function distro() {
  try {
    const line = readFileSync('/etc/os-release', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('PRETTY_NAME='));
    return line?.slice('PRETTY_NAME='.length).replace(/"/g, '') ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function describeMachine() {
  const cpuList = cpus();
  return {
    cpus: cpuList.length,
    cpu_model: cpuList[0]?.model.trim() ?? 'unknown',
    memory_bytes: totalmem(),
    kernel: release(),
    os: distro(),
    node: process.version,
    docker_server: docker(['version', '--format', '{{.Server.Version}} (API {{.Server.APIVersion}})']),
    docker_client: docker(['version', '--format', '{{.Client.Version}}']),
    docker_storage: docker(['info', '--format', '{{.Driver}}, cgroup v{{.CgroupVersion}}']),
  };
}

/** MemAvailable in bytes: memory the host can still hand out (page cache excluded). */
export function memAvailable() {
  const match = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return match === null ? NaN : Number(match[1]) * 1024;
}

/** Resident set size of a process in bytes. */
export function rssOf(pid) {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? NaN : Number(match[1]) * 1024;
  } catch {
    return NaN;
  }
}

const CGROUP_MEMORY = [
  (id) => `/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`,
  (id) => `/sys/fs/cgroup/memory/system.slice/docker-${id}.scope/memory.usage_in_bytes`,
  (id) => `/sys/fs/cgroup/docker/${id}/memory.current`,
  (id) => `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`,
];

function cgroupMemory(id) {
  for (const path of CGROUP_MEMORY) {
    try {
      return Number(readFileSync(path(id), 'utf8').trim());
    } catch {
      // next layout
    }
  }
  return NaN;
}

function pssOf(pid) {
  try {
    const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return match === null ? NaN : Number(match[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** containerd-shim process of each container id, found by its `-id <container>` argument. */
function shims() {
  const byContainer = new Map();
  for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    let argv;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!(argv[0] ?? '').includes('containerd-shim')) continue;
    const index = argv.indexOf('-id');
    if (index >= 0 && argv[index + 1] !== undefined) byContainer.set(argv[index + 1], Number(pid));
  }
  return byContainer;
}

/**
 * What running containers cost the host, measured directly: each one's memory cgroup usage plus the proportional
 * set size of its containerd-shim. (MemAvailable differences are reported too, but page-cache churn makes them
 * noisy for small counts.)
 */
export function containerFootprint(fullIds) {
  const shimPids = shims();
  let cgroup = 0;
  let shim = 0;
  let counted = 0;
  for (const id of fullIds) {
    const memory = cgroupMemory(id);
    const pid = shimPids.get(id);
    const pss = pid === undefined ? NaN : pssOf(pid);
    if (!Number.isFinite(memory) || !Number.isFinite(pss)) continue;
    cgroup += memory;
    shim += pss;
    counted += 1;
  }
  return { counted, cgroup_bytes: cgroup, shim_pss_bytes: shim };
}
