/** The examples in examples/ run against a real server (they import the built @burrow/sdk). */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const examples = readdirSync(`${root}examples`).filter((name) => name.endsWith('.mjs'));
const run = promisify(execFile);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

describe('examples', () => {
  it('has examples', () => expect(examples.length).toBeGreaterThanOrEqual(3));

  it.each(examples)('%s runs to completion', async (name) => {
    const { stdout } = await run(process.execPath, [`examples/${name}`], {
      cwd: root,
      env: { ...process.env, BURROW_URL: server.url },
      timeout: 120_000,
    });
    expect(stdout.length).toBeGreaterThan(0);
    expect(server.server.engine.list()).toEqual([]);
  });
});
