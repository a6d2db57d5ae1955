/** The committed TypeScript in src/e2b/gen is what proto/ generates (run `npm run proto` after editing proto/). */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const serverDir = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../../../node_modules/.bin', import.meta.url));
let out = '';

afterAll(async () => {
  if (out !== '') await rm(out, { recursive: true, force: true });
});

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

it('matches what buf and protoc-gen-es generate from proto/', async () => {
  out = await mkdtemp(join(tmpdir(), 'burrow-proto-'));
  execFileSync(join(bin, 'buf'), ['generate', '-o', out], {
    cwd: serverDir,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
  });
  const committed = join(serverDir, 'src/e2b/gen');
  const generated = join(out, 'src/e2b/gen');
  expect(await files(generated)).toEqual(await files(committed));
  for (const file of await files(committed)) {
    expect(await readFile(join(generated, file), 'utf8'), file).toBe(
      await readFile(join(committed, file), 'utf8'),
    );
  }
}, 60_000);
