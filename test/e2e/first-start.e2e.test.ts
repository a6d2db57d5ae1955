/**
 * The first start of `burrow serve` on a host without its default image, as a person sees it in a terminal (tmux):
 * a progress line that changes while the image builds (step of how many, time), then the ready block. The image is
 * this test's own (a tiny Dockerfile, unique so no build cache hides the steps), never the shared default image.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN } from '../support/child-server.js';

const run = promisify(execFile);
const tag = randomBytes(4).toString('hex');
const IMAGE = `burrow-test/first-start-${tag}:latest`;
const SOCKET = `burrow-first-start-${tag}`;
const tmux = (...args: string[]) => run('tmux', ['-L', SOCKET, ...args]);
const screen = async () => (await tmux('capture-pane', '-p', '-t', 'serve')).stdout;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-first-start-'));
  await writeFile(
    join(dir, 'Dockerfile'),
    [
      'FROM burrow-test/busybox:latest',
      `RUN echo first ${tag} && sleep 2`,
      `RUN echo second ${tag} && sleep 2`,
      `RUN echo third ${tag} && sleep 2`,
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await tmux('send-keys', '-t', 'serve', 'C-c').catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await tmux('kill-server').catch(() => undefined);
  await new Dockerode()
    .getImage(IMAGE)
    .remove({ force: true })
    .catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

it('shows a changing progress line while the default image builds, then the ready block', async () => {
  const dataDir = join(dir, 'data');
  // Only what a person would have: no BURROW_* of the developer's, no CI (a terminal in CI is still a terminal).
  const command = [
    'env -u CI',
    ...Object.keys(process.env)
      .filter((name) => name.startsWith('BURROW_'))
      .map((name) => `-u ${name}`),
    `BURROW_SANDBOX__DEFAULT_IMAGE=${IMAGE}`,
    `BURROW_SANDBOX__DEFAULT_IMAGE_CONTEXT=${dir}`,
    `${process.execPath} ${BIN} serve --port 0 --data-dir ${dataDir}`,
  ].join(' ');
  await tmux('new-session', '-d', '-s', 'serve', '-x', '160', '-y', '50', `${command}; sleep 600`);

  const progress = new Set<string>();
  let last = '';
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !last.includes('is ready on')) {
    last = await screen();
    for (const line of last.split('\n'))
      if (line.includes(`building ${IMAGE}: step`)) progress.add(line.trim());
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(last, 'the ready block within 2 minutes').toContain('is ready on 127.0.0.1:');

  // The line changed: several steps, each with the time elapsed.
  const steps = new Set([...progress].map((line) => /step (\d)\/4/.exec(line)?.[1]));
  expect(steps.size, [...progress].join('\n')).toBeGreaterThanOrEqual(2);
  for (const line of progress)
    expect(line).toMatch(/^\S building .*: step \d\/4 RUN echo \w+ \w+ && sleep 2 \(\d+s\)$/);

  expect(last).toMatch(new RegExp(`✔ built ${IMAGE.replace(/[.:/]/g, '\\$&')} in \\d+s`));
  const block = last.slice(last.indexOf('Burrow 0.1.0 is ready on'));
  expect(block).toMatch(/\n {2}API +http:\/\/127\.0\.0\.1:\d+\/api\/v1 /);
  expect(block).toMatch(/\n {2}Auth +off: /);
  expect(block).toMatch(/\n {2}MCP +claude mcp add --transport http burrow http:\/\/127\.0\.0\.1:\d+\/mcp\n/);
  expect(block).toMatch(
    /\n {2}Try +BURROW_URL=http:\/\/127\.0\.0\.1:\d+ node \/\S+\/examples\/quickstart\.mjs\n/,
  );
  expect(await new Dockerode().getImage(IMAGE).inspect()).toBeDefined();
});
