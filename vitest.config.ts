import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const alias = {
  '@burrow/protocol': fileURLToPath(new URL('./packages/protocol/src/index.ts', import.meta.url)),
  '@burrow/sdk': fileURLToPath(new URL('./packages/sdk/src/index.ts', import.meta.url)),
  '@burrow/server': fileURLToPath(new URL('./packages/server/src/index.ts', import.meta.url)),
  '@burrow/mcp': fileURLToPath(new URL('./packages/mcp/src/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    // In CI, the first failure ends the run: its error is then the last thing printed, and a broken engine cannot
    // make every later test wait out its timeout.
    bail: process.env.CI === 'true' ? 1 : 0,
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'test/scripts/**/*.test.ts'],
          exclude: ['**/*.docker.test.ts', '**/*.e2e.test.ts', '**/node_modules/**'],
          globalSetup: ['test/setup/agent-binary.ts'],
          // The tiers run one after another (unit, docker, e2e), so the docker and e2e tiers never compete for the
          // cores (timing-sensitive work on a 2-core machine) nor for the engine.
          sequence: { groupOrder: 0 },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'docker',
          include: ['packages/*/src/**/*.docker.test.ts'],
          globalSetup: ['test/setup/agent-binary.ts', 'test/setup/docker.ts'],
          setupFiles: ['test/setup/engine-health.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'e2e',
          include: ['packages/*/test/**/*.e2e.test.ts', 'test/e2e/**/*.e2e.test.ts'],
          globalSetup: ['test/setup/agent-binary.ts', 'test/setup/docker.ts'],
          setupFiles: ['test/setup/engine-health.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
