/**
 * E2B's SDK against Burrow's own, on the same server in the same run: `commands.run('echo hi')` through the `e2b`
 * package (Connect RPC to the E2B endpoint, `bash -l -c`) and through `@burrow/sdk` (Burrow's exec, `sh -c`), and
 * the time from `Sandbox.create()` to a first command's result. Both create cold sandboxes of the same image.
 */
import { Burrow } from '@burrow/sdk';
import { Sandbox } from 'e2b';
import { interleaved } from './scenarios.mjs';
import { since } from './stats.mjs';

function expectHi(stdout, what) {
  if (stdout !== 'hi\n')
    throw new Error(`${what}: expected "hi\\n", got ${JSON.stringify(stdout.slice(0, 100))}`);
}

/** Points E2B's SDK at the server's E2B endpoint, as the export lines `burrow serve --e2b` prints do. */
export function useE2bEndpoint(url) {
  process.env.E2B_API_URL = url;
  process.env.E2B_SANDBOX_URL = url;
  process.env.E2B_API_KEY = 'e2b_627572726f77';
}

/** The two clients as bench systems: create a sandbox, run `echo hi` in it, remove it. */
export function sdkSystems(serverUrl, image) {
  const burrow = new Burrow({ url: serverUrl });
  return [
    {
      name: 'e2b-sdk',
      label: 'e2b SDK',
      create: () => Sandbox.create({ timeoutMs: 600_000 }),
      run: async (sandbox) => expectHi((await sandbox.commands.run('echo hi')).stdout, 'e2b commands.run'),
      remove: (sandbox) => sandbox.kill(),
    },
    {
      name: 'burrow-sdk',
      label: 'Burrow SDK',
      create: () => burrow.create({ image, timeoutSeconds: 600 }),
      run: async (sandbox) => expectHi((await sandbox.commands.run('echo hi')).stdout, 'burrow commands.run'),
      remove: (sandbox) => sandbox.destroy(),
    },
  ];
}

/** `commands.run('echo hi')` round trips on one sandbox per client. */
export async function e2bExec(systems, iterations, log) {
  const sandboxes = new Map();
  try {
    for (const system of systems) sandboxes.set(system.name, await system.create());
    // One untimed run each: the first command of a sandbox pays for things later ones do not.
    for (const system of systems) await system.run(sandboxes.get(system.name));
    return await interleaved(
      systems,
      iterations,
      async (system) => {
        const start = performance.now();
        await system.run(sandboxes.get(system.name));
        return since(start);
      },
      log,
    );
  } finally {
    for (const system of systems) {
      const sandbox = sandboxes.get(system.name);
      if (sandbox !== undefined) await system.remove(sandbox).catch(() => undefined);
    }
  }
}

/** From `create()` to the first command's result (removal untimed). */
export function e2bTti(systems, iterations, log) {
  return interleaved(
    systems,
    iterations,
    async (system) => {
      const start = performance.now();
      const sandbox = await system.create();
      try {
        await system.run(sandbox);
        return since(start);
      } finally {
        await system.remove(sandbox).catch(() => undefined);
      }
    },
    log,
  );
}
