import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Brings the in-sandbox agent binary up to date (the build script skips work when it already is). */
export default function setup(): void {
  const script = fileURLToPath(new URL('../../packages/server/agent/build.sh', import.meta.url));
  execFileSync('bash', [script], { stdio: 'inherit' });
}
