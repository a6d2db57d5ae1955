/**
 * The baselines, doing the jobs Burrow does: the Docker CLI, and the Docker Engine API straight from Node
 * (dockerode). Burrow's own clients are in burrow-systems.mjs. Each method returns when the job's result is in
 * hand; a check of it (echo output, byte counts and SHA-256 of transfers) is made at once when it is cheap, else
 * returned as a function the scenario runs untimed. A stream hashed as it arrives is hashed inside the time: that
 * costs the Docker baselines, never Burrow. Removal of what a job made is never timed.
 * Baseline containers mirror a Burrow sandbox where it costs time: `--init`, a 256 MB tmpfs on /tmp (where the file
 * jobs write), a long-running main process.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Dockerode from 'dockerode';
import { RUN_LABEL } from './cleanup.mjs';
import { expectDigest, expectFile } from './verify.mjs';

export { MiB } from './verify.mjs';
export const FILE_PATH = '/tmp/bench.bin';
export const ECHO = ['echo', 'hi'];
export const big = (bytes) => ['sh', '-c', `head -c ${bytes} /dev/zero | tr '\\0' a`];

/**
 * Runs a command; hashes its whole stdout (SHA-256 and length) and keeps the first 64 KiB (all of it with
 * `keep`); feeds `input` (an async iterable) to its stdin.
 */
export function run(command, args, { input, keep = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let bytes = 0;
    const head = [];
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      if (keep || bytes < 65536) head.push(chunk);
      hash.update(chunk);
      bytes += chunk.length;
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('error', reject);
    if (input !== undefined) pipeline(input, child.stdin).catch(reject);
    child.once('close', (code) => {
      const stdout = Buffer.concat(head).toString();
      if (code !== 0)
        reject(new Error(`${command} ${args.join(' ')}: exit ${code}: ${stderr.trim().slice(0, 300)}`));
      else resolve({ bytes, sha256: hash.digest('hex'), stdout });
    });
  });
}

export function expectEcho(stdout, what) {
  if (stdout.trim() !== 'hi')
    throw new Error(`${what}: expected "hi", got ${JSON.stringify(stdout.slice(0, 100))}`);
}

// ---------------------------------------------------------------- Docker CLI

/** `network`: the containers join this network (e.g. Burrow's internal one) instead of Docker's default bridge. */
export function cliSystem({ image, runId, network }) {
  const label = ['--label', `${RUN_LABEL}=${runId}`];
  const runArgs = [
    'run',
    '-d',
    '--init',
    ...label,
    '--tmpfs',
    '/tmp:rw,size=256m',
    ...(network === undefined ? [] : ['--network', network]),
  ];
  return {
    name: network === undefined ? 'docker-cli' : 'docker-cli-network',
    label: network === undefined ? 'Docker CLI' : `Docker CLI on ${network}`,
    async create() {
      return (await run('docker', [...runArgs, image, 'sleep', 'infinity'])).stdout.trim();
    },
    async tti() {
      const id = await this.create();
      expectEcho((await run('docker', ['exec', id, ...ECHO])).stdout, 'docker exec');
      return id;
    },
    /** `docker run --rm <image> echo hi`: create, start, run, remove in one command. */
    async oneShot() {
      expectEcho(
        (await run('docker', ['run', '--rm', '--init', ...label, image, ...ECHO])).stdout,
        'docker run --rm',
      );
    },
    async exec(id, cmd, expected) {
      const result = await run('docker', ['exec', id, ...cmd]);
      if (expected === undefined) expectEcho(result.stdout, 'docker exec');
      else return () => expectDigest(result, expected, 'docker exec output');
    },
    async output(id, cmd) {
      return (await run('docker', ['exec', id, ...cmd])).stdout;
    },
    async write(id, payload) {
      await run('docker', ['exec', '-i', id, 'sh', '-c', `cat > ${FILE_PATH}`], { input: payload.stream() });
    },
    async read(id, payload) {
      expectDigest(await run('docker', ['exec', id, 'cat', FILE_PATH]), payload, 'docker exec cat');
    },
    async snapshotSource() {
      return (
        await run('docker', ['run', '-d', '--init', ...label, image, 'sleep', 'infinity'])
      ).stdout.trim();
    },
    /** `docker commit`, `docker run -d` from the image, first `docker exec`. */
    async snapshotRestore(id, n) {
      const tag = `burrow-bench-snap:${runId}-${n}`;
      await run('docker', ['commit', '-c', `LABEL ${RUN_LABEL}=${runId}`, id, tag]);
      const restored = (
        await run('docker', ['run', '-d', '--init', ...label, tag, 'sleep', 'infinity'])
      ).stdout.trim();
      const made = { sandbox: restored, image: tag };
      expectEcho((await run('docker', ['exec', restored, ...ECHO])).stdout, 'docker exec after commit');
      return made;
    },
    /** `docker run -d` printed the full ids already. */
    async fullIds(ids) {
      return ids;
    },
    async removeSnapshotResult({ sandbox, image: tag }) {
      await run('docker', ['rm', '-f', sandbox]);
      await run('docker', ['rmi', '-f', tag]);
    },
    async remove(id) {
      await run('docker', ['rm', '-f', '-v', id]);
    },
  };
}

// ---------------------------------------------------------------- Engine API

/** Runs a command with the Engine API (exec create, start, demuxed output, inspect for the exit code). */
async function apiExec(docker, id, cmd, input) {
  const exec = await docker.getContainer(id).exec({
    Cmd: cmd,
    AttachStdout: true,
    AttachStderr: true,
    AttachStdin: input !== undefined,
  });
  const stream = await exec.start({ hijack: true, stdin: input !== undefined });
  const hash = createHash('sha256');
  let bytes = 0;
  const head = [];
  const stdout = new Writable({
    write(chunk, _encoding, done) {
      if (bytes < 65536) head.push(chunk);
      hash.update(chunk);
      bytes += chunk.length;
      done();
    },
  });
  const stderr = new PassThrough();
  stderr.resume();
  const ended = new Promise((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  docker.modem.demuxStream(stream, stdout, stderr);
  if (input !== undefined) {
    for await (const chunk of input)
      if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
    stream.end();
  }
  await ended;
  const { ExitCode } = await exec.inspect();
  if (ExitCode !== 0) throw new Error(`engine API exec ${cmd.join(' ')}: exit ${ExitCode}`);
  return { bytes, sha256: hash.digest('hex'), stdout: Buffer.concat(head).toString() };
}

export function apiSystem({ image, runId }) {
  const docker = new Dockerode();
  const spec = (config = {}) => ({
    Image: image,
    Cmd: ['sleep', 'infinity'],
    Labels: { [RUN_LABEL]: runId },
    HostConfig: { Init: true, Tmpfs: { '/tmp': 'rw,size=256m' } },
    ...config,
  });
  return {
    name: 'engine-api',
    label: 'Engine API',
    async create(config) {
      const container = await docker.createContainer(spec(config));
      await container.start();
      return container.id;
    },
    async tti() {
      const id = await this.create();
      expectEcho((await apiExec(docker, id, ECHO)).stdout, 'engine API exec');
      return id;
    },
    async exec(id, cmd, expected) {
      const result = await apiExec(docker, id, cmd);
      if (expected === undefined) expectEcho(result.stdout, 'engine API exec');
      else return () => expectDigest(result, expected, 'engine API exec output');
    },
    async output(id, cmd) {
      return (await apiExec(docker, id, cmd)).stdout;
    },
    async write(id, payload) {
      await apiExec(docker, id, ['sh', '-c', `cat > ${FILE_PATH}`], payload.stream());
    },
    async read(id, payload) {
      expectDigest(await apiExec(docker, id, ['cat', FILE_PATH]), payload, 'engine API cat');
    },
    async snapshotSource() {
      return this.create({ HostConfig: { Init: true } });
    },
    /** Commit, create + start from the image, first exec. */
    async snapshotRestore(id, n) {
      const tag = `${runId}-api-${n}`;
      await docker
        .getContainer(id)
        .commit({ repo: 'burrow-bench-snap', tag, changes: `LABEL ${RUN_LABEL}=${runId}` });
      const restored = await this.create({ Image: `burrow-bench-snap:${tag}` });
      const made = { sandbox: restored, image: `burrow-bench-snap:${tag}` };
      expectEcho((await apiExec(docker, restored, ECHO)).stdout, 'engine API exec after commit');
      return made;
    },
    async removeSnapshotResult({ sandbox, image: tag }) {
      await docker.getContainer(sandbox).remove({ force: true, v: true });
      await docker.getImage(tag).remove({ force: true });
    },
    async remove(id) {
      await docker.getContainer(id).remove({ force: true, v: true });
    },
  };
}

// ---------------------------------------------------------------- docker cp and the host

/**
 * `docker cp` of the payload's file into and out of a plain container (`docker run -d`, its writable layer): the
 * baseline the data-path targets are stated against. Reads land in a file on the host, checked untimed.
 */
export function dockerCpSystem({ image, runId, dir }) {
  const label = ['--label', `${RUN_LABEL}=${runId}`];
  const path = '/bench.bin';
  const out = join(dir, 'docker-cp-out.bin');
  return {
    name: 'docker-cp',
    label: 'docker cp',
    filePath: path,
    async create() {
      return (
        await run('docker', ['run', '-d', '--init', ...label, image, 'sleep', 'infinity'])
      ).stdout.trim();
    },
    async output(id, cmd) {
      return (await run('docker', ['exec', id, ...cmd])).stdout;
    },
    async write(id, payload) {
      await run('docker', ['cp', payload.path, `${id}:${path}`]);
    },
    async read(id, payload) {
      await run('docker', ['cp', `${id}:${path}`, out]);
      return async () => {
        await expectFile(out, payload, 'docker cp out');
        await rm(out, { force: true });
      };
    },
    async remove(id) {
      await run('docker', ['rm', '-f', '-v', id]);
    },
  };
}

/**
 * The sandbox image's own programs (its busybox or coreutils, its libc) run on the host under chroot, without a
 * container, namespaces or Burrow: the same pipeline as in the sandbox, program for program. The image's files are
 * exported into `dir` at create and removed at remove; /dev/zero and /dev/null are made as device nodes.
 */
export function hostImageSystem({ image, runId, dir }) {
  const root = join(dir, 'image-root');
  return {
    name: 'host-image',
    label: "host (no container), the image's programs",
    async create() {
      await rm(root, { recursive: true, force: true });
      await mkdir(root);
      const id = (
        await run('docker', ['create', '--label', `${RUN_LABEL}=${runId}`, image, 'true'])
      ).stdout.trim();
      try {
        await run('sh', ['-c', 'docker export "$1" | tar -x -C "$2"', 'export', id, root]);
      } finally {
        await run('docker', ['rm', '-v', id]);
      }
      await mkdir(join(root, 'dev'), { recursive: true });
      await run('mknod', ['-m', '666', join(root, 'dev/zero'), 'c', '1', '5']);
      await run('mknod', ['-m', '666', join(root, 'dev/null'), 'c', '1', '3']);
      return 'host-image';
    },
    async exec(_id, cmd, expected) {
      const result = await run('chroot', [root, ...cmd]);
      if (expected === undefined) expectEcho(result.stdout, 'chroot');
      else return () => expectDigest(result, expected, 'chroot output');
    },
    async remove() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * The machine's own limit for each job, without any container: the same output pipeline run on the host with the
 * host's own programs (Debian's coreutils), and `cp`
 * of the payload's file into a tmpfs (/dev/shm) and back out to a file.
 */
export function hostSystem({ runId, dir }) {
  const path = `/dev/shm/burrow-bench-${runId}.bin`;
  const out = join(dir, 'host-out.bin');
  return {
    name: 'host',
    label: 'host (no container)',
    filePath: path,
    async create() {
      return 'host';
    },
    async exec(_id, cmd, expected) {
      const result = await run(cmd[0], cmd.slice(1));
      if (expected === undefined) expectEcho(result.stdout, 'host');
      else return () => expectDigest(result, expected, 'host output');
    },
    async output(_id, cmd) {
      return (await run(cmd[0], cmd.slice(1))).stdout;
    },
    async write(_id, payload) {
      await run('cp', [payload.path, path]);
    },
    async read(_id, payload) {
      await run('cp', [path, out]);
      return async () => {
        await expectFile(out, payload, 'cp out of tmpfs');
        await rm(out, { force: true });
      };
    },
    async remove() {
      await rm(path, { force: true });
    },
  };
}
