/**
 * Burrow as its users drive it: through the TypeScript SDK (`@burrow/sdk`, the built package) and through curl
 * (a new process per call, as scripts do). Both do the jobs the baselines do (systems.mjs), with the same checks:
 * echo output, and byte counts and SHA-256 of every transfer.
 */
import { Burrow } from '@burrow/sdk';
import { ECHO, expectEcho, FILE_PATH, run } from './systems.mjs';
import { digestOf, digestOfBuffer, expectDigest } from './verify.mjs';

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

export function sdkSystem(url) {
  const burrow = new Burrow({ url, timeoutMs: 300_000 });
  /** Handles of the sandboxes this system made, by id. */
  const handles = new Map();
  const handle = (id) => {
    const sandbox = handles.get(id);
    if (sandbox === undefined) throw new Error(`no SDK handle for sandbox ${id}`);
    return sandbox;
  };
  return {
    name: 'burrow-sdk',
    label: 'Burrow (SDK)',
    coldRequest: COLD,
    async create(request = COLD) {
      const sandbox = await burrow.create(request);
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
      else expectDigest(digestOfBuffer(result.stdout), expected, 'SDK commands.run output');
    },
    async output(id, cmd) {
      return (await handle(id).commands.run(cmd)).stdout;
    },
    async write(id, payload) {
      const { bytes } = await handle(id).files.write(FILE_PATH, payload.stream());
      if (bytes !== payload.bytes)
        throw new Error(`SDK files.write: the server wrote ${bytes} of ${payload.bytes} bytes`);
    },
    async read(id, payload) {
      expectDigest(
        await digestOf(await handle(id).files.readStream(FILE_PATH)),
        payload,
        'SDK files.readStream',
      );
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

export function curlSystem(url) {
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
  const file = (id) => `${api}/sandboxes/${id}/files?path=${encodeURIComponent(FILE_PATH)}`;
  return {
    name: 'burrow-curl',
    label: 'Burrow (curl)',
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
      else expectDigest(digestOfBuffer(result.stdout), expected, 'curl POST /exec output');
    },
    async output(id, cmd) {
      return (await post(`/sandboxes/${id}/exec`, { cmd })).stdout;
    },
    async write(id, payload) {
      // -T - streams stdin as the body of a PUT (chunked), as `curl -T big.bin` does with a file.
      const { bytes } = await json(['-T', '-', file(id)], { input: payload.stream() });
      if (bytes !== payload.bytes)
        throw new Error(`curl PUT /files: the server wrote ${bytes} of ${payload.bytes} bytes`);
    },
    async read(id, payload) {
      expectDigest(await curl([file(id)]), payload, 'curl GET /files');
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
