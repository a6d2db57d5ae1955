import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where the build put the agent binary: `dist/agent/burrow-agent` of the server package, found both from the
 * compiled code (dist/runtime/agent) and from the sources (src/runtime/agent) that tests run.
 */
export function builtAgentBinary(): string | undefined {
  const candidates = ['../../agent/burrow-agent', '../../../dist/agent/burrow-agent'];
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  return undefined;
}
