import type Dockerode from 'dockerode';
import type { PortMapping, SandboxConfig, SandboxInfo, SandboxStatus } from '../runtime.js';
import { RESERVED_LABEL_PREFIX } from '../sandbox-config.js';
import { LABEL } from './labels.js';

/**
 * The true status of a container: frozen by the engine's pause is `paused`, a dead or OOM-killed main process
 * `error`, any other exit `stopped`.
 */
export function statusOf(state: Dockerode.ContainerInspectInfo['State'] | undefined): SandboxStatus {
  if (state === undefined) return 'error';
  if (state.OOMKilled || state.Dead || state.Status === 'dead') return 'error';
  if (state.Running) return state.Paused ? 'paused' : 'running';
  if (state.Status === 'created') return 'creating';
  if (state.Error !== undefined && state.Error !== '') return 'error';
  return 'stopped';
}

function parseConfig(labels: Record<string, string>): SandboxConfig | undefined {
  const raw = labels[LABEL.config];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as SandboxConfig;
  } catch {
    return undefined;
  }
}

function portsOf(config: SandboxConfig | undefined): PortMapping[] {
  return (config?.ports ?? []).map((port) => ({ ...port, protocol: 'tcp' }));
}

function ipOf(inspect: Dockerode.ContainerInspectInfo): string {
  const networks = inspect.NetworkSettings.Networks;
  for (const network of Object.values(networks)) {
    if (network.IPAddress !== '') return network.IPAddress;
  }
  return '';
}

/** Caller labels only: Burrow's own bookkeeping labels stay internal. */
function callerLabels(labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([key]) => !key.startsWith(RESERVED_LABEL_PREFIX)));
}

export function infoFromInspect(inspect: Dockerode.ContainerInspectInfo): SandboxInfo {
  const labels = inspect.Config.Labels ?? {};
  const config = parseConfig(labels);
  const status = statusOf(inspect.State);
  const info: SandboxInfo = {
    id: labels[LABEL.id] ?? inspect.Name.replace(/^\/burrow-/, ''),
    name: inspect.Name.replace(/^\//, ''),
    image: config?.image ?? inspect.Config.Image,
    status,
    createdAt: new Date(labels[LABEL.created] ?? inspect.Created),
    ports: portsOf(config),
    labels: config?.labels ?? callerLabels(labels),
    pid: inspect.State.Pid,
    ip: ipOf(inspect),
  };
  if (!inspect.State.Running && inspect.State.Status !== 'created') info.exitCode = inspect.State.ExitCode;
  if (inspect.State.OOMKilled) {
    info.oomKilled = true;
    info.error = 'the sandbox ran out of memory and its main process was killed';
  } else if (inspect.State.Error !== '') info.error = inspect.State.Error;
  if (config !== undefined) info.config = config;
  const pool = labels[LABEL.pool];
  if (pool !== undefined && pool !== '') info.pool = pool;
  return info;
}
