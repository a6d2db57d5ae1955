/**
 * `@burrow/sdk`: the TypeScript client of Burrow (this is the Node entry; browsers get `browser.ts` through the
 * package's `browser` export condition).
 *
 * - `Burrow` / `Sandbox`: Burrow's own surface (camelCase, `await using`, streams, typed errors).
 * - `Den` (and `@burrow/sdk/den`): Den's SDK surface, for code written against `@us4/den`.
 */
import { Burrow as CoreBurrow, type BurrowOptions } from './burrow.js';
import { Den as CoreDen } from './den/den.js';
import type { ClientConfig } from './den/types.js';
import { nodePlatform } from './platform-node.js';

export * from './common.js';

/**
 * A client of one Burrow server (Node: WebSockets send the API key header; local files can be uploaded and
 * downloaded).
 *
 * @example
 * import { Burrow } from '@burrow/sdk';
 *
 * const burrow = new Burrow(); // BURROW_URL / BURROW_API_KEY, or http://127.0.0.1:8080
 * await using sandbox = await burrow.create({ timeoutSeconds: 600 });
 * const result = await sandbox.commands.run('echo hello');
 * console.log(result.stdout); // "hello\n"
 */
export class Burrow extends CoreBurrow {
  constructor(options: BurrowOptions = {}) {
    super(options, nodePlatform);
  }
}

/**
 * Den's client class.
 *
 * @example
 * import { Den } from '@burrow/sdk'; // was: import { Den } from '@us4/den'
 * const den = new Den({ url: 'http://127.0.0.1:8080', apiKey: process.env.DEN_API_KEY });
 */
export class Den extends CoreDen {
  constructor(config: ClientConfig) {
    super(config, nodePlatform);
  }
}
