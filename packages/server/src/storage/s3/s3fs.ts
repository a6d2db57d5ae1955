/**
 * The s3fs process and the kernel's mount table, for fuse.ts: starting s3fs with a clean environment, reading its
 * log, turning its failures into BurrowErrors (keys scrubbed), finding s3fs mounts in /proc/self/mountinfo and
 * unmounting them.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { BurrowError } from '@burrow/protocol';
import type { Logger } from '../../logger.js';
import { checkBucketName } from './bucket-name.js';

const run = promisify(execFile);

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function decodeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount points of s3fs file systems, from /proc/self/mountinfo. */
export async function s3fsMountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    const mountPoint = left?.split(' ')[4];
    const fsType = right?.split(' ')[0];
    if (mountPoint !== undefined && fsType?.startsWith('fuse.s3fs') === true)
      points.add(decodeMountPath(mountPoint));
  }
  return points;
}

/** The propagation of the mount whose mount point is exactly `path`; undefined when `path` is not a mount point. */
export async function mountPropagation(path: string): Promise<'shared' | 'private' | undefined> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  let found: 'shared' | 'private' | undefined;
  for (const line of text.split('\n')) {
    const [left] = line.split(' - ');
    const fields = left?.split(' ') ?? [];
    const mountPoint = fields[4];
    // The last mount listed on a path is the one on top.
    if (mountPoint !== undefined && decodeMountPath(mountPoint) === path) {
      found = fields.slice(6).some((field) => field.startsWith('shared:')) ? 'shared' : 'private';
    }
  }
  return found;
}

/** Runs `mount` or `umount` as this process; rejects with its stderr. */
export async function runMount(command: 'mount' | 'umount', args: string[]): Promise<void> {
  try {
    await run(command, args, { timeout: 10_000 });
  } catch (error) {
    const stderr = (error as { stderr?: unknown }).stderr;
    throw new BurrowError(
      'S3_ERROR',
      `${command} ${args.join(' ')} failed: ${typeof stderr === 'string' && stderr !== '' ? stderr.trim() : String(error)}: Burrow must run as root for S3 FUSE mounts`,
    );
  }
}

/**
 * The only s3fs options Burrow passes. s3fs runs as root on the host: an option such as `use_cache=/` or a second
 * `bucket=` would let whoever chose it write host files, so nothing outside this list reaches its command line.
 */
export const S3FS_OPTIONS: ReadonlySet<string> = new Set([
  'passwd_file',
  'url',
  'use_path_request_style',
  'endpoint',
  'allow_other',
  'uid',
  'gid',
  'umask',
  'mp_umask',
  'logfile',
  'dbglevel',
  'retries',
  'connect_timeout',
  'readwrite_timeout',
]);

export interface S3fsMount {
  bucket: string;
  /** Key prefix mounted as the root ('' for the whole bucket), without leading or trailing `/`. */
  prefix: string;
  mountDir: string;
  /** Options in order: a name from {@link S3FS_OPTIONS}, and a value or none (a flag). */
  options: ReadonlyArray<readonly [name: string, value?: string]>;
}

/**
 * s3fs's argv: `-o name[=value]` for each allowed option, then the bucket (with its prefix) and the mount directory.
 * Values may not hold `,` (s3fs's option separator) or a line break. No positional argument can be read as an
 * option: the bucket passed S3's naming rules (it starts with a letter or a digit) and the mount directory is an
 * absolute path, and both are checked again here. A `--` before them would be the usual guard, but s3fs appends
 * its own `-osubtype=s3fs` after the caller's arguments, and FUSE then rejects that as a positional (s3fs 1.90).
 */
export function s3fsArgs(mount: S3fsMount): string[] {
  const args: string[] = [];
  for (const [name, value] of mount.options) {
    if (!S3FS_OPTIONS.has(name))
      throw new BurrowError('INTERNAL', `s3fs option "${name}" is not one Burrow passes`);
    if (value !== undefined && /[,\n\r\0]/.test(value))
      throw new BurrowError(
        'VALIDATION_FAILED',
        `s3fs option ${name}: the value may not contain ",", a line break or NUL`,
      );
    args.push('-o', value === undefined ? name : `${name}=${value}`);
  }
  const bucket = checkBucketName(mount.bucket);
  if (/[\n\r\0]/.test(mount.prefix))
    throw new BurrowError(
      'VALIDATION_FAILED',
      'storage.s3.prefix may not contain a line break or NUL for mode fuse',
    );
  if (!mount.mountDir.startsWith('/'))
    throw new BurrowError('INTERNAL', `the s3fs mount directory must be absolute: ${mount.mountDir}`);
  args.push(mount.prefix === '' ? bucket : `${bucket}:/${mount.prefix}`, mount.mountDir);
  return args;
}

/** s3fs's search path when its caller names none. */
export const DEFAULT_SEARCH_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

/** Runs the s3fs launcher (which daemonises) with an environment of PATH only; resolves with its exit code. */
export function launchS3fs(
  binary: string,
  args: string[],
  searchPath = DEFAULT_SEARCH_PATH,
): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: searchPath },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once('error', (error) =>
      reject(
        new BurrowError(
          'S3_ERROR',
          `cannot run ${binary}: ${error.message}: install s3fs (apt-get install -y s3fs fuse3)`,
        ),
      ),
    );
    child.once('exit', (code) => {
      child.stderr.destroy();
      resolve({ code: code ?? 1, stderr });
    });
  });
}

export async function s3fsVersion(binary: string): Promise<string> {
  const { stdout } = await run(binary, ['--version'], { timeout: 10_000 });
  return stdout.split('\n')[0] ?? '';
}

export async function logTail(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).slice(-4000);
  } catch {
    return '';
  }
}

/** s3fs logs its start-up checks' failures as critical (`[CRT]`) lines; its log-level notice is one too. */
export function fatalLog(text: string): boolean {
  return text
    .split('\n')
    .some(
      (line) =>
        (line.includes('[CRT]') && !line.includes('LowSetLogLevel')) ||
        line.includes('Exiting FUSE event loop due to errors'),
    );
}

function scrub(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((secret) => secret.length >= 4)
    .reduce((out, secret) => out.split(secret).join('***'), text);
}

/** Classifies s3fs output (stderr and log) into a BurrowError; the keys never appear in the message. */
export function s3fsFailure(
  output: string,
  target: { bucket: string; url: string; secrets: readonly string[] },
): BurrowError {
  const text = scrub(output, target.secrets);
  const where = `bucket ${target.bucket} via ${target.url}`;
  if (/invalid credentials|InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied/.test(text)) {
    return new BurrowError(
      'S3_ACCESS_DENIED',
      `S3 FUSE mount of ${where} was denied: check access_key and secret_key, and that they may use this bucket`,
    );
  }
  if (/NoSuchBucket|bucket or key not found/.test(text)) {
    return new BurrowError(
      'S3_NOT_FOUND',
      `S3 FUSE mount failed: bucket ${target.bucket} does not exist at ${target.url}: create it or check the bucket name`,
    );
  }
  if (/unable to connect|CURLE_COULDNT_CONNECT|CURLE_COULDNT_RESOLVE/.test(text)) {
    return new BurrowError(
      'S3_ERROR',
      `S3 FUSE mount of ${where} failed: could not reach the endpoint: check that it is running and reachable from the server`,
    );
  }
  const lastLine =
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !/LowSetLogLevel|\[INF\]/.test(line))
      .at(-1) ?? 'no output';
  return new BurrowError('S3_ERROR', `S3 FUSE mount of ${where} failed: ${lastLine.slice(0, 300)}`);
}

/** `fusermount -u`, then `umount`, then a lazy `umount -l`; resolves once the kernel no longer lists the mount. */
export async function unmountFuse(dir: string, logger: Logger): Promise<void> {
  const attempts: Array<[string, string[]]> = [
    ['fusermount', ['-u', dir]],
    ['umount', [dir]],
    ['umount', ['-l', dir]],
  ];
  for (const [command, args] of attempts) {
    try {
      await run(command, args, { timeout: 10_000 });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.debug(
        { dir, command: `${command} ${args.join(' ')}`, error: message },
        'unmount attempt failed',
      );
    }
    for (let i = 0; i < 20; i += 1) {
      if (!(await s3fsMountPoints()).has(dir)) return;
      await sleep(50);
    }
  }
  throw new BurrowError(
    'S3_ERROR',
    `could not unmount the S3 FUSE mount at ${dir}: find the processes using it (fuser -m ${dir}) and stop them`,
  );
}
