import { BurrowError } from '@burrow/protocol';
import type { SandboxPath } from './runtime.js';

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * Checks a path inside a sandbox and returns its bytes. Paths are data, never shell: any byte but NUL is allowed,
 * but the path must be absolute and may not contain a `..` component. Repeated and trailing slashes are removed.
 */
export function sandboxPathBytes(path: SandboxPath, what = 'path'): Buffer {
  const bytes = typeof path === 'string' ? Buffer.from(path, 'utf8') : Buffer.from(path);
  if (bytes.length === 0)
    throw new BurrowError('INVALID_PATH', `${what} is required: give an absolute path such as /tmp/file`);
  if (bytes.includes(0)) throw new BurrowError('INVALID_PATH', `${what} contains a NUL byte`);
  if (bytes[0] !== SLASH) {
    throw new BurrowError(
      'INVALID_PATH',
      `${what} must be absolute (start with /): got ${JSON.stringify(bytes.toString('utf8'))}`,
    );
  }
  const components: Buffer[] = [];
  let start = 1;
  for (let i = 1; i <= bytes.length; i += 1) {
    if (i === bytes.length || bytes[i] === SLASH) {
      const component = bytes.subarray(start, i);
      if (component.length === 2 && component[0] === DOT && component[1] === DOT) {
        throw new BurrowError('INVALID_PATH', `${what} may not contain ".." components`);
      }
      if (component.length > 0) components.push(component);
      start = i + 1;
    }
  }
  if (components.length === 0) return Buffer.from('/');
  return Buffer.concat(components.flatMap((component) => [Buffer.from('/'), component]));
}

/** Like {@link sandboxPathBytes} for paths that must be text (mount points, configuration). */
export function sandboxPathString(path: string, what = 'path'): string {
  return sandboxPathBytes(path, what).toString('utf8');
}
