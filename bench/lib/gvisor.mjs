/**
 * What the second kernel costs: the same jobs through the SDK on runc (the default) and on gVisor (runsc),
 * interleaved in one run against one server, which keeps a warm pool of each.
 */
import { execFileSync } from 'node:child_process';
import { density, fileRoundTrip, interleaved, onSandboxes, poolFull, timed } from './scenarios.mjs';

/** Whether Docker has runsc registered (setup-host.sh registers `runsc` and `runsc-net`). */
export function gvisorAvailable() {
  try {
    const runtimes = JSON.parse(
      execFileSync('docker', ['info', '--format', '{{json .Runtimes}}'], { encoding: 'utf8' }),
    );
    return Object.keys(runtimes).some((name) => name.startsWith('runsc'));
  } catch {
    return false;
  }
}

/** The server's config for the run: a warm pool of gVisor sandboxes beside the default (runc) one. */
export function gvisorPoolConfig(image, size) {
  return `sandbox:\n  warm_pools:\n    - image: ${JSON.stringify(image)}\n      size: ${size}\n      runtime: gvisor\n`;
}

/**
 * Cold and warm time to interactive, exec round trip, the payload written and read, and `idle` idle sandboxes:
 * each on runc and on gVisor. Resolves with one result per measure, keyed as the report reads them.
 */
export async function gvisorVsRunc({ runc, gvisor, client, plan, payload, serverPid, log }) {
  const pair = [runc, gvisor];
  const out = {};
  log('  cold time to interactive');
  out.tti_cold = await interleaved(
    pair,
    plan.tti,
    (system) =>
      timed(
        () => system.tti(),
        (id) => system.remove(id),
      ),
    log,
  );
  log('  warm time to interactive');
  out.tti_warm = await interleaved(
    pair,
    plan.tti,
    async (system) => {
      await poolFull(client, 120_000);
      return timed(
        () => system.tti({}),
        (id) => system.remove(id),
      );
    },
    log,
  );
  log('  exec round trip');
  out.exec_echo = await onSandboxes(pair, (sandboxes) =>
    interleaved(
      pair,
      plan.exec,
      (system) => timed(() => system.exec(sandboxes.get(system.name), ['echo', 'hi'])),
      log,
    ),
  );
  log('  100 MB write and read');
  const files = await fileRoundTrip(pair, plan.file, payload, log);
  out.file_write = files.write;
  out.file_read = files.read;
  log('  idle sandboxes');
  out.idle = await density(pair, plan.idle, serverPid, log);
  return out;
}
