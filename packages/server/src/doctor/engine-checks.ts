/** Host checks that ask the Docker engine: reachable, cgroups, the gVisor runtime, disk quotas, the default image. */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import type Dockerode from 'dockerode';
import { dockerMessage } from '../runtime/docker/docker-errors.js';
import { inspectImage } from '../runtime/docker/images.js';
import { buildsDefaultImage, DEFAULT_IMAGE } from '../images/default-image.js';
import { formatBytes } from '../util/format.js';
import type { Check, DoctorContext, EngineFacts } from './types.js';

const NO_ENGINE = { status: 'skip' as const, detail: 'not checked: Docker does not answer' };

function withDeadline<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** unix:///var/run/docker.sock, tcp://host:2375, ...: where dockerode connects (it reads DOCKER_HOST itself). */
export async function engineAddress(docker: Dockerode): Promise<string> {
  const modem = docker.modem as {
    socketPath?: unknown;
    host?: string;
    port?: string | number;
    protocol?: string;
  };
  let socket = modem.socketPath;
  if (typeof socket === 'function') socket = await (socket as () => Promise<unknown>)();
  if (typeof socket === 'string' && socket !== '') return `unix://${socket}`;
  return `${modem.protocol ?? 'http'}://${modem.host ?? 'localhost'}${modem.port === undefined ? '' : `:${modem.port}`}`;
}

/** Version and info in one go, or the reason Docker does not answer. */
export async function engineFacts(
  docker: Dockerode,
  timeoutMs: number,
): Promise<{ facts: EngineFacts } | { error: string; address: string }> {
  const address = await engineAddress(docker).catch(() => 'the default socket');
  try {
    const [version, info] = await withDeadline(
      Promise.all([docker.version(), docker.info() as Promise<EngineFacts['info']>]),
      timeoutMs,
      `Docker at ${address}`,
    );
    return { facts: { version, info, address } };
  } catch (error) {
    return { error: dockerMessage(error).split('\n')[0] ?? 'no answer', address };
  }
}

export const dockerCheck: Check = (context) => {
  const { engine, engineProblem } = context;
  if (engine === undefined) {
    return Promise.resolve({
      status: 'fail',
      detail: `Docker does not answer at ${engineProblem?.address ?? 'its address'}: ${engineProblem?.error ?? '?'}`,
      fix: 'start the Docker engine (bash scripts/setup-host.sh serve, or systemctl start docker) and check DOCKER_HOST',
    });
  }
  return Promise.resolve({
    status: 'ok',
    detail: `Docker ${engine.version.Version ?? '?'} (API ${engine.version.ApiVersion ?? '?'}) at ${engine.address}`,
  });
};

function cgroupLayout(): string {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return 'unified hierarchy';
  if (existsSync('/sys/fs/cgroup/unified')) return 'hybrid hierarchy';
  return 'legacy hierarchy';
}

export const cgroupCheck: Check = ({ engine }) => {
  if (engine === undefined) return Promise.resolve(NO_ENGINE);
  const { info } = engine;
  const detail = `cgroup v${info.CgroupVersion ?? '?'} (${info.CgroupDriver ?? '?'} driver, ${cgroupLayout()})`;
  const missing = [
    info.MemoryLimit === false ? 'memory' : '',
    info.CpuCfsQuota === false ? 'CPU' : '',
    info.PidsLimit === false ? 'process-count' : '',
  ].filter((name) => name !== '');
  if (missing.length > 0) {
    return Promise.resolve({
      status: 'warn',
      detail: `${detail}: ${missing.join(', ')} limits are not enforced`,
      fix: 'enable the missing cgroup controllers (kernel command line, e.g. cgroup_enable=memory) and reboot',
    });
  }
  return Promise.resolve({ status: 'ok', detail: `${detail}; memory, CPU and process limits enforced` });
};

export const diskQuotaCheck: Check = ({ engine }) => {
  if (engine === undefined) return Promise.resolve(NO_ENGINE);
  const backing = engine.info.DriverStatus?.find(([key]) => key === 'Backing Filesystem')?.[1] ?? '?';
  const where = `${engine.info.Driver ?? '?'} on ${backing}`;
  // The same rule DockerRuntime applies before it passes a disk_limit to Docker.
  if (engine.info.Driver === 'overlay2' && backing === 'xfs')
    return Promise.resolve({ status: 'ok', detail: `disk_limit is enforced (${where})` });
  return Promise.resolve({
    status: 'warn',
    detail: `disk_limit is refused on this host (${where})`,
    fix: 'for per-sandbox disk quotas, put Docker on xfs mounted with pquota (overlay2 driver)',
  });
};

/** A small local image that has `true`, to start a probe container with. */
async function probeImage(context: DoctorContext): Promise<string | undefined> {
  const candidates = [
    'burrow-test/busybox:latest',
    context.config.sandbox.default_image,
    DEFAULT_IMAGE,
    'burrow/debian-base:bookworm',
  ];
  for (const image of candidates) {
    if ((await inspectImage(context.docker, image).catch(() => undefined)) !== undefined) return image;
  }
  return undefined;
}

/** Starts `true` under the runtime and waits for it; the container is removed whatever happens. */
async function tryRuntime(context: DoctorContext, runtime: string, image: string): Promise<void> {
  const container = await context.docker.createContainer({
    name: `burrow-doctor-${randomBytes(4).toString('hex')}`,
    Image: image,
    Cmd: ['true'],
    Entrypoint: [],
    Labels: { 'burrow.doctor': 'true' },
    HostConfig: { Runtime: runtime, NetworkMode: 'none', AutoRemove: false },
  });
  try {
    await withDeadline(container.start(), context.timeoutMs, `starting a container with ${runtime}`);
    const result = (await withDeadline(
      container.wait(),
      context.timeoutMs,
      `a container under ${runtime}`,
    )) as {
      StatusCode?: number;
    };
    if (result.StatusCode !== 0) throw new Error(`the probe container exited with ${result.StatusCode}`);
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

export const runscCheck: Check = async (context) => {
  const { engine, gvisorRuntime: name } = context;
  if (engine === undefined) return NO_ENGINE;
  const registered = Object.keys(engine.info.Runtimes ?? {});
  if (!registered.includes(name)) {
    return {
      status: 'warn',
      detail: `gVisor runtime "${name}" is not registered with Docker (runtimes: ${registered.join(', ') || 'none'}); optional`,
      fix: `install Debian's runsc package and register it as runtime "${name}" in /etc/docker/daemon.json, then restart dockerd`,
    };
  }
  const image = await probeImage(context);
  if (image === undefined)
    return { status: 'ok', detail: `"${name}" is registered; not tried yet (no local image to try it with)` };
  const started = Date.now();
  try {
    await tryRuntime(context, name, image);
  } catch (error) {
    return {
      status: 'warn',
      detail: `"${name}" is registered but a container does not start with it: ${dockerMessage(error).split('\n')[0]}`,
      fix: `run "docker run --rm --runtime ${name} ${image} true" to see why (runsc needs a kernel it supports)`,
    };
  }
  return {
    status: 'ok',
    detail: `"${name}" is registered and runs a container (${Date.now() - started} ms)`,
  };
};

export const imageCheck: Check = async (context) => {
  if (context.engine === undefined) return NO_ENGINE;
  const image = context.config.sandbox.default_image;
  const found = await inspectImage(context.docker, image);
  if (found !== undefined)
    return { status: 'ok', detail: `default image ${image} is present (${formatBytes(found.Size)})` };
  const builds = buildsDefaultImage(context.config);
  return {
    status: 'warn',
    detail: `default image ${image} is missing`,
    fix: builds
      ? 'burrow serve builds it on its first start (a few minutes); "burrow image build" builds it now'
      : `build, pull or import ${image}, or set sandbox.default_image to an image this host has`,
  };
};
