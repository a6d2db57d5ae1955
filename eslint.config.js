import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * The server's layers, enforced: dependencies point inward (api -> engine -> runtime / store / storage interfaces),
 * and only the composition root (main.ts) knows the concrete backends. Tests and test support may reach anything.
 */
const SERVER = 'packages/server/src';
const TEST_FILES = [`${SERVER}/**/*.test.ts`, `${SERVER}/**/test-support/**`, `${SERVER}/**/*.test-suite.ts`];

const CONCRETE = {
  group: ['**/runtime/docker/**', '**/runtime/fake/**', '**/runtime/agent/**', '**/store/sqlite/**'],
  message: 'only main.ts knows the concrete backends: depend on runtime/runtime.ts or store/store.ts instead',
};
const ROOT = { group: ['**/main.js'], message: 'main.ts is the composition root: nothing imports it' };
const API = { group: ['**/api/**'], message: 'the api layer is the outermost: nothing below imports it' };
const ENGINE = {
  group: ['**/engine/**'],
  message: 'the engine depends on runtime, store and storage, not the reverse',
};
/** The runtime's interface and the helpers every layer shares; the rest of runtime/ is backend internals. */
const RUNTIME_INTERNALS = {
  group: [
    '**/runtime/**',
    '!**/runtime/runtime.js',
    '!**/runtime/paths.js',
    '!**/runtime/sandbox-config.js',
    '!**/runtime/process-options.js',
  ],
  message: 'use the Runtime interface (runtime/runtime.ts) and its shared helpers, not backend internals',
};
const STORE_INTERNALS = {
  group: ['**/store/**', '!**/store/store.js'],
  message: 'use the SandboxStore interface (store/store.ts)',
};
/** storage/tmpfs.ts and storage/volumes.ts are the storage policy; S3's internals are reached through its index. */
const STORAGE_INTERNALS = {
  group: ['**/storage/s3/**', '!**/storage/s3/index.js'],
  message: 'use storage/s3/index.ts, not its internals',
};
const STORAGE = { group: ['**/storage/**'], message: 'the api reaches storage through the engine' };
const STORE = { group: ['**/store/**'], message: 'this layer does not touch state' };

function layer(folder, patterns) {
  return {
    files: [`${SERVER}/${folder}/**/*.ts`],
    ignores: TEST_FILES,
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'coverage/**',
      'bench/results/**',
      'packages/server/src/e2b/gen/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: ['packages/server/src/web/**/*.js', 'packages/web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // Everything in the server but main.ts: no concrete backend. images/ (the default image, built on Docker) and
  // doctor/ (the host checks `burrow serve` runs first) belong to the composition root and know Docker too;
  // admin.ts is the composition root of `burrow keys` and `burrow audit` (the state file, opened directly).
  {
    files: [`${SERVER}/**/*.ts`],
    ignores: [
      ...TEST_FILES,
      `${SERVER}/main.ts`,
      `${SERVER}/admin.ts`,
      `${SERVER}/images/**`,
      `${SERVER}/doctor/**`,
      `${SERVER}/index.ts`,
    ],
    rules: { 'no-restricted-imports': ['error', { patterns: [CONCRETE, ROOT] }] },
  },
  // The package's public surface re-exports startServer from main.ts, and nothing concrete.
  {
    files: [`${SERVER}/index.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: [CONCRETE] }] },
  },
  layer('api', [CONCRETE, ROOT, RUNTIME_INTERNALS, STORE_INTERNALS, STORAGE]),
  // The E2B-compatible endpoint is an adapter beside the api: the engine (and the runtime's types), nothing else.
  layer('e2b', [CONCRETE, ROOT, API, RUNTIME_INTERNALS, STORE_INTERNALS, STORAGE]),
  layer('engine', [CONCRETE, ROOT, API, RUNTIME_INTERNALS, STORE_INTERNALS, STORAGE_INTERNALS]),
  // A backend may use its own internals (relative imports within runtime/) and the storage policy, nothing above.
  layer('runtime', [ROOT, API, ENGINE, STORE, STORAGE_INTERNALS]),
  layer('storage', [CONCRETE, ROOT, API, ENGINE, STORE, RUNTIME_INTERNALS]),
  // Previews, published ports and the egress proxy: over the Runtime and SandboxStore interfaces, beside the engine
  // (which admits requests with proxy/egress-admission.ts), below the api.
  layer('proxy', [CONCRETE, ROOT, API, ENGINE, RUNTIME_INTERNALS, STORE_INTERNALS, STORAGE_INTERNALS]),
  layer('store', [
    CONCRETE,
    ROOT,
    API,
    ENGINE,
    RUNTIME_INTERNALS,
    { group: ['**/storage/**'], message: 'the store keeps state only' },
  ]),
  // The SDK runs in browsers: it takes only types from the protocol, so zod (whose eval probe a page's CSP reports)
  // never reaches a bundle.
  {
    files: ['packages/sdk/src/**/*.ts'],
    ignores: ['packages/sdk/src/**/*.test.ts', 'packages/sdk/src/test-support/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@burrow/protocol',
              allowTypeImports: true,
              message: 'the SDK imports only types from the protocol: copy the value (and test the copy)',
            },
          ],
        },
      ],
    },
  },
  // Environment variables are read in config.ts only: everything else gets its settings passed in.
  {
    files: [`${SERVER}/**/*.ts`],
    ignores: [...TEST_FILES, `${SERVER}/config.ts`],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'read environment variables in config.ts and pass them in',
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "VariableDeclarator[init.name='process'] > ObjectPattern > Property[key.name='env']",
          message: 'read environment variables in config.ts and pass them in',
        },
      ],
    },
  },
);
