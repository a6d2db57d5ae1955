/** `burrow image build` with a build context of the test's own, and `burrow image ls` finding it, with its size. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { afterAll, expect, it } from 'vitest';
import { BIN } from '../../../test/support/child-server.js';

const run = promisify(execFile);
const IMAGE = `burrow-test/image-build-${randomBytes(4).toString('hex')}:latest`;
let dir = '';

afterAll(async () => {
  await new Dockerode()
    .getImage(IMAGE)
    .remove({ force: true })
    .catch(() => undefined);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string>): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('BURROW_')) clean[name] = value;
  return { ...clean, ...extra };
}

it('builds the configured default image from its context, then lists it among the images Burrow made', async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-image-build-'));
  await writeFile(
    join(dir, 'Dockerfile'),
    `FROM burrow-test/busybox:latest\nLABEL burrow.image=e2e-build\nRUN echo ${IMAGE} > /built\n`,
  );
  const settings = env({ BURROW_SANDBOX__DEFAULT_IMAGE: IMAGE, BURROW_SANDBOX__DEFAULT_IMAGE_CONTEXT: dir });
  const built = await run(process.execPath, [BIN, 'image', 'build'], { env: settings });
  expect(built.stdout).toBe(`${IMAGE} is ready\n`);
  // Not a terminal: log lines, not a spinner; a build this short ends before the first interval line.
  expect(built.stderr).toContain(`building ${IMAGE}`);
  expect(built.stderr).toMatch(new RegExp(`built ${IMAGE.replace(/[.:/]/g, '\\$&')} in \\d+s`));
  expect(built.stderr).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);

  const listed = JSON.parse(
    (await run(process.execPath, [BIN, 'image', 'ls', '--json'], { env: settings })).stdout,
  ) as {
    image: string;
    kind: string;
    size: number;
  }[];
  const mine = listed.find((entry) => entry.image === IMAGE);
  expect(mine).toMatchObject({ kind: 'e2e-build' });
  expect(mine?.size).toBeGreaterThan(100_000);
  expect(listed.find((entry) => entry.image === 'burrow-test/busybox:latest')).toMatchObject({
    kind: 'test',
  });

  const table = (await run(process.execPath, [BIN, 'image', 'ls'], { env: settings })).stdout;
  expect(table.split('\n')[0]).toMatch(/^IMAGE\s+ID\s+KIND\s+SIZE\s+CREATED$/);
  expect(table).toMatch(
    new RegExp(
      `\\n${IMAGE.replace(/[.:/]/g, '\\$&')}\\s+[0-9a-f]{12}\\s+e2e-build\\s+\\d+\\.\\d (KiB|MiB)\\s+\\d+s ago`,
    ),
  );
});
