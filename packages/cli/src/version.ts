/**
 * The CLI's version, from its own package.json (one level above both src/ and dist/), so printing it needs no
 * import of the server package.
 */
import { readFileSync } from 'node:fs';

export const CLI_VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
