/**
 * Burrow as its users drive it: through the TypeScript SDK (`@burrow/sdk`, the built package) and through curl
 * (a new process per call, as scripts do). Both do the jobs the baselines do (systems.mjs), with the same checks:
 * echo output, and byte counts and SHA-256 of every transfer.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Burrow } from '@burrow/sdk';
import { ECHO, expectEcho, FILE_PATH, run } from './systems.mjs';
import { digestOfBuffer, expectDigest, expectFile } from './verify.mjs';

/** Docker's ids of these sandboxes' containers (`burrow-<id>`), for the density footprint. */
async function containerIds(ids) {
  const out = [];
  for (let i = 0; i < ids.length; i += 50) {
    const names = ids.slice(i, i + 50).map((id) => `burrow-${id}`);
    out.push(...(await run('docker', ['inspect', '-f', '{{.Id}}', ...names])).stdout.trim().split('\n'));
  }
  return out;
}

/** A create the warm pool cannot serve (it asks for a working directory): a cold container create. */
const COLD = { workdir: '/tmp' };

/** `runtime` (e.g. `gvisor`) goes into every create this system makes; `name` and `label` tell it apart. */
export function sdkSystem(url, { dir, runtime, name = 'burrow-sdk', label = 'Burrow (SDK)' }) {
  const out = join(dir, `${name}-out.bin`);
  const burrow = new Burrow({ url, timeoutMs: 300_000 });
  /** Handles of the sandboxes this system made, by id. */
  const handles = new Map();
  const handle = (id) => {
    const sandbox = handles.get(id);
    if (sandbox === undefined) throw new Error(`no SDK handle for sandbox ${id}`);
    return sandbox;
  };
  return {
    name,
    label,
    coldRequest: COLD,
    async create(request = COLD) {
      const sandbox = await burrow.create(runtime === undefined ? request : { ...request, runtime });
      handles.set(sandbox.id, sandbox);
      return sandbox.id;
    },
    async tti(request = COLD) {
      const id = await this.create(request);
      expectEcho((await handle(id).commands.run(ECHO)).stdout, 'SDK commands.run');
      return id;
    },
    async exec(id, cmd, expected) {
      const result = await handle(id).commands.run(cmd);
      if (result.exitCode !== 0)
        throw new Error(`SDK commands.run ${cmd.join(' ')}: exit ${result.exitCode}`);
      if (expected === undefined) expectEcho(result.stdout, 'SDK commands.run');
      else return () => expectDigest(digestOfBuffer(result.stdout), expected, 'SDK commands.run output');
    },
    async output(id, cmd) {
      return (await handle(id).commands.run(cmd)).stdout;
    },
    /** From the payload's file, as curl -T and docker cp send it. */
    async write(id, payload) {
      const { bytes } = await handle(id).files.upload(payload.path, FILE_PATH);
      if (bytes !== payload.bytes)
        throw new Error(`SDK files.upload: the server wrote ${bytes} of ${payload.bytes} bytes`);
    },
    /** Into a file, as curl -o and docker cp receive it; checked untimed. */
    async read(id, payload) {
      await handle(id).files.download(FILE_PATH, out);
      return async () => {
        await expectFile(out, payload, 'SDK files.download');
        await rm(out, { force: true });
      };
    },
    async snapshotSource() {
      return this.create({ writableRootfs: true });
    },
    /** Snapshot, restore into a new sandbox, first command there; returns what to remove. */
    async snapshotRestore(id, n) {
      const snapshot = await handle(id).snapshots.create(`bench-${n}`);
      const restored = await burrow.snapshots.restore(snapshot.id);
      handles.set(restored.id, restored);
      const made = { sandbox: restored.id, snapshot: snapshot.id };
      expectEcho((await restored.commands.run(ECHO)).stdout, 'SDK commands.run after restore');
      return made;
    },
    fullIds: containerIds,
    /** Lists every sandbox (timed in the density run, with all of them held). */
    async list() {
      const all = await burrow.list();
      if (all.length < handles.size)
        throw new Error(`SDK list: ${all.length} sandboxes listed, ${handles.size} made`);
    },
    async removeSnapshotResult({ sandbox, snapshot }) {
      await this.remove(sandbox);
      await burrow.snapshots.delete(snapshot);
    },
    async remove(id) {
      await handle(id).destroy();
      handles.delete(id);
    },
  };
}

/**
 * curl as scripts use it: files sent from the payload's file on disk (`-T`, or `-F` for the multipart routes) and
 * received into a file (`-o`), checked untimed, as `docker cp` is.
 */
export function curlSystem(url, { dir, multipart = false }) {
  const api = `${url}/api/v1`;
  // -f: an HTTP error is a failed command; -sS: quiet, but say why it failed.
  const curl = (args, options) => run('curl', ['-sS', '-f', ...args], options);
  const json = async (args, options) => JSON.parse((await curl(args, { ...options, keep: true })).stdout);
  const post = (path, body) =>
    json([
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '--data-binary',
      JSON.stringify(body),
      `${api}${path}`,
    ]);
  const query = `path=${encodeURIComponent(FILE_PATH)}`;
  const file = (id) => `${api}/sandboxes/${id}/files?${query}`;
  const out = join(dir, multipart ? 'curl-multipart-out.bin' : 'curl-out.bin');
  const send = (id, payload) =>
    multipart
      ? json([
          '-F',
          `path=${FILE_PATH}`,
          '-F',
          `file=@${payload.path}`,
          `${api}/sandboxes/${id}/files/upload`,
        ])
      : json(['-T', payload.path, file(id)]);
  const receive = (id) =>
    curl(['-o', out, multipart ? `${api}/sandboxes/${id}/files/download?${query}` : file(id)]);
  return {
    name: multipart ? 'burrow-curl-multipart' : 'burrow-curl',
    label: multipart ? 'Burrow (curl, multipart)' : 'Burrow (curl)',
    coldRequest: COLD,
    async create(request = COLD) {
      return (await post('/sandboxes', request)).id;
    },
    async tti(request = COLD) {
      const id = await this.create(request);
      expectEcho((await post(`/sandboxes/${id}/exec`, { cmd: ECHO })).stdout, 'curl POST /exec');
      return id;
    },
    async exec(id, cmd, expected) {
      const result = await post(`/sandboxes/${id}/exec`, { cmd });
      if (result.exit_code !== 0)
        throw new Error(`curl POST /exec ${cmd.join(' ')}: exit ${result.exit_code}`);
      if (expected === undefined) expectEcho(result.stdout, 'curl POST /exec');
      else return () => expectDigest(digestOfBuffer(result.stdout), expected, 'curl POST /exec output');
    },
    async output(id, cmd) {
      return (await post(`/sandboxes/${id}/exec`, { cmd })).stdout;
    },
    async write(id, payload) {
      const { bytes } = await send(id, payload);
      if (bytes !== payload.bytes)
        throw new Error(
          `curl ${multipart ? 'upload' : 'PUT /files'}: the server wrote ${bytes} of ${payload.bytes} bytes`,
        );
    },
    async read(id, payload) {
      await receive(id);
      return async () => {
        await expectFile(out, payload, multipart ? 'curl GET /files/download' : 'curl GET /files');
        await rm(out, { force: true });
      };
    },
    async snapshotSource() {
      return this.create({ writable_rootfs: true });
    },
    async snapshotRestore(id, n) {
      const snapshot = await post(`/sandboxes/${id}/snapshots`, { name: `bench-${n}` });
      const restored = await json(['-X', 'POST', `${api}/snapshots/${snapshot.id}/restore`]);
      const made = { sandbox: restored.id, snapshot: snapshot.id };
      expectEcho(
        (await post(`/sandboxes/${restored.id}/exec`, { cmd: ECHO })).stdout,
        'curl exec after restore',
      );
      return made;
    },
    fullIds: containerIds,
    async removeSnapshotResult({ sandbox, snapshot }) {
      await this.remove(sandbox);
      await curl(['-X', 'DELETE', `${api}/snapshots/${snapshot}`]);
    },
    async remove(id) {
      await curl(['-X', 'DELETE', `${api}/sandboxes/${id}`]);
    },
  };
}
