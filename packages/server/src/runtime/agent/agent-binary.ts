import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where the build put the agent binary: `dist/agent/burrow-agent` of the server package, found both from the
 * compiled code (dist/runtime/agent) and from the sources (src/runtime/agent) that tests run. `sanitized` is the
 * AddressSanitizer + UBSan build the host tests also run (it only runs on the build host).
 */
export function builtAgentBinary(variant: 'static' | 'sanitized' = 'static'): string | undefined {
  const name = variant === 'static' ? 'burrow-agent' : 'burrow-agent-sanitized';
  const candidates = [`../../agent/${name}`, `../../../dist/agent/${name}`];
  for (const candidate of candidates) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  return undefined;
}
