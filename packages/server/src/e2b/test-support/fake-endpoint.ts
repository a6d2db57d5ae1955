/** An E2B endpoint on loopback over an engine with the in-memory runtime, for unit tests. */
import { silentLogger } from '../../logger.js';
import { Engine } from '../../engine/engine.js';
import { FakeRuntime } from '../../runtime/fake/fake-runtime.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { testPolicy } from '../../test-support/policy.js';
import { AccessTokens } from '../access.js';
import { E2bEndpoint, type E2bEndpointOptions } from '../endpoint.js';
import { TemplateImages } from '../templates.js';

export const TEST_SECRET = Buffer.alloc(32, 7);
export const TEST_KEY = 'burrow-test-key';

export interface FakeEndpoint {
  endpoint: E2bEndpoint;
  engine: Engine;
  runtime: FakeRuntime;
  tokens: AccessTokens;
  url: string;
  close(): Promise<void>;
}

export async function startFakeEndpoint(
  options: { auth?: boolean } & Partial<E2bEndpointOptions> = {},
): Promise<FakeEndpoint> {
  const runtime = new FakeRuntime();
  const store = new SqliteStore(':memory:');
  const engine = new Engine({ runtime, store, policy: testPolicy(), maxSandboxes: 50, logger: silentLogger });
  const endpoint = await E2bEndpoint.start({
    engine,
    logger: silentLogger,
    keys: {
      enabled: options.auth === true,
      resolve: (key) =>
        key === TEST_KEY ? { keyId: 'test', keyName: 'test', tenant: '', admin: true } : undefined,
    },
    secret: TEST_SECRET,
    templates: new TemplateImages(engine.policy.defaultImage, { custom: 'custom-image:1' }),
    host: '127.0.0.1',
    port: 0,
    writableRootfs: true,
    maxFileBytes: 1024 * 1024,
    portWaitMs: 300,
    ...options,
  });
  return {
    endpoint,
    engine,
    runtime,
    tokens: new AccessTokens(TEST_SECRET),
    url: endpoint.url,
    close: async () => {
      await endpoint.close();
      store.close();
    },
  };
}
