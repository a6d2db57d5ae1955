/**
 * The layering rules in eslint.config.js really fire: each case lints a line of code as if it were a file in that
 * folder and expects the rule (or none).
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });

async function rulesFor(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = probe;\n`, {
    filePath: `${ROOT}packages/server/src/${file}`,
  });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

describe('server layers', () => {
  it.each([
    ['api/x.ts', "import { DockerRuntime as probe } from '../runtime/docker/docker-runtime.js';"],
    ['api/x.ts', "import { createS3Client as probe } from '../storage/s3/client.js';"],
    ['api/x.ts', "import { SqliteStore as probe } from '../store/sqlite/sqlite-store.js';"],
    ['engine/x.ts', "import { buildApp as probe } from '../api/app.js';"],
    ['engine/x.ts', "import { AgentClient as probe } from '../runtime/agent/agent-client.js';"],
    ['engine/x.ts', "import { fromS3Error as probe } from '../storage/s3/client.js';"],
    ['runtime/x.ts', "import { Engine as probe } from '../engine/engine.js';"],
    ['runtime/x.ts', "import { fromS3Error as probe } from '../storage/s3/client.js';"],
    ['storage/s3/x.ts', "import { FakeRuntime as probe } from '../../runtime/fake/fake-runtime.js';"],
    ['storage/s3/x.ts', "import { Engine as probe } from '../../engine/engine.js';"],
    ['s3-setup.ts', "import { DockerRuntime as probe } from './runtime/docker/docker-runtime.js';"],
    ['e2b/x.ts', "import { buildApp as probe } from '../api/app.js';"],
    ['e2b/envd/x.ts', "import { AgentClient as probe } from '../../runtime/agent/agent-client.js';"],
    ['e2b/x.ts', "import { SqliteStore as probe } from '../store/sqlite/sqlite-store.js';"],
  ])('%s may not: %s', async (file, code) => {
    expect(await rulesFor(file, code)).toContain('no-restricted-imports');
  });

  it.each([
    ['main.ts', "import { DockerRuntime as probe } from './runtime/docker/docker-runtime.js';"],
    ['api/x.ts', "import type { Engine as probe } from '../engine/engine.js';"],
    ['engine/x.ts', "import type { Runtime as probe } from '../runtime/runtime.js';"],
    ['engine/x.ts', "import { S3Hooks as probe } from '../storage/s3/index.js';"],
    ['runtime/docker/x.ts', "import { AgentClient as probe } from '../agent/agent-client.js';"],
    ['api/x.test.ts', "import { FakeRuntime as probe } from '../runtime/fake/fake-runtime.js';"],
    ['e2b/envd/x.ts', "import type { Engine as probe } from '../../engine/engine.js';"],
  ])('%s may: %s', async (file, code) => {
    expect(await rulesFor(file, code)).toEqual([]);
  });
});

describe('environment variables', () => {
  it.each(['engine/x.ts', 'main.ts', 'runtime/docker/x.ts'])('are not read in %s', async (file) => {
    expect(await rulesFor(file, 'const probe = process.env.DOCKER_HOST;')).toContain(
      'no-restricted-properties',
    );
    expect(await rulesFor(file, 'const { env: probe } = process;')).toContain('no-restricted-syntax');
  });

  it('are read in config.ts', async () => {
    expect(await rulesFor('config.ts', 'const probe = process.env.DOCKER_HOST;')).toEqual([]);
  });
});
