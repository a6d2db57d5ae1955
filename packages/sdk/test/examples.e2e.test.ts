/**
 * The examples in examples/ run against a real server (they import the built @burrow/sdk), as `npm run examples`
 * does: once on the small test image, and once on the real default image (`burrow/default:latest`, non-root user
 * `sandbox`), which a stock `burrow serve` uses and builds on first start when it is missing.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const examples = readdirSync(`${root}examples`).filter((name) => name.endsWith('.mjs'));
const run = promisify(execFile);

async function runExample(server: TestServer, name: string): Promise<void> {
  const { stdout } = await run(process.execPath, [`examples/${name}`], {
    cwd: root,
    env: { ...process.env, BURROW_URL: server.url },
    timeout: 120_000,
  });
  expect(stdout.length).toBeGreaterThan(0);
  expect(server.server.engine.list()).toEqual([]);
}

it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(3));

describe('examples on the test image', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it.each(examples)('%s runs to completion', (name) => runExample(server, name));
});

describe('examples on the default image', () => {
  let server: TestServer;
  // The first start on a machine without the image builds it (a few minutes).
  beforeAll(async () => {
    server = await startTestServer({
      config: { sandbox: { default_image: 'burrow/default:latest', build_default_image: true } },
    });
  }, 900_000);
  afterAll(() => server?.close());

  it.each(examples)('%s runs to completion', (name) => runExample(server, name));
});
