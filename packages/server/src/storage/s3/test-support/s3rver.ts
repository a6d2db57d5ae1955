/**
 * A real S3-compatible server for tests: s3rver in a child process on 127.0.0.1 with an ephemeral port and a temp
 * directory. A child process because s3rver's ListObjectsV2 continuation tokens use DES, which Node 20's OpenSSL 3
 * only offers with `--openssl-legacy-provider`; it also keeps s3rver's memory out of the test's RSS figures.
 * Signatures are not verified by s3rver (V4 is unimplemented), but unknown access key ids are refused
 * (InvalidAccessKeyId); its only key pair is S3RVER / S3RVER.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const S3RVER_KEY = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';

export interface TestS3Server {
  endpoint: string;
  port: number;
  directory: string;
  stop(): Promise<void>;
}

const SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({
  address: '127.0.0.1', port: 0, silent: true, directory: process.env.S3RVER_DIR,
  allowMismatchedSignatures: false, vhostBuckets: false,
  configureBuckets: (process.env.S3RVER_BUCKETS || '').split(',').filter(Boolean).map((name) => ({ name })),
});
server.run().then((address) => { process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'); });
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export async function startS3rver(buckets: string[] = []): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'burrow-s3rver-'));
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', '-e', SCRIPT], {
    env: {
      ...process.env,
      S3RVER_MODULE: createRequire(import.meta.url).resolve('s3rver'),
      S3RVER_DIR: directory,
      S3RVER_BUCKETS: buckets.join(','),
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    if (child.stdout === null) return reject(new Error('no stdout'));
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${String(code)}`)));
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    directory,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.stdin?.end();
        child.kill();
        await exited;
      }
      await rm(directory, { recursive: true, force: true });
    },
  };
}
