// Files: write and read, list and stat, and stream a local file in and out without holding it in memory.
// Run after `npm run build`, with a server up: node examples/files.mjs
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Burrow, FileNotFoundError } from '@burrow/sdk';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const burrow = new Burrow();
const sandbox = await burrow.create({
  ...(process.env.BURROW_IMAGE ? { image: process.env.BURROW_IMAGE } : {}),
});
const local = await mkdtemp(join(tmpdir(), 'burrow-example-'));
try {
  await sandbox.files.mkdir('/home/sandbox/project');
  await sandbox.files.write('/home/sandbox/project/notes.md', '# notes\n');
  for (const entry of await sandbox.files.list('/home/sandbox/project')) {
    console.log(`${entry.isDir ? 'dir ' : 'file'} ${entry.path} (${entry.size} bytes)`);
  }

  // 8 MiB through the streaming upload and download.
  const data = randomBytes(8 * 1024 * 1024);
  await writeFile(join(local, 'data.bin'), data);
  await sandbox.files.upload(join(local, 'data.bin'), '/tmp/data.bin');
  const { size } = await sandbox.files.stat('/tmp/data.bin');
  await sandbox.files.download('/tmp/data.bin', join(local, 'back.bin'));
  const same = sha256(await readFile(join(local, 'back.bin'))) === sha256(data);
  console.log(`uploaded ${size} bytes; round trip intact: ${same}`);

  // Missing files are a typed error.
  const missing = await sandbox.files.readText('/tmp/nope').catch((error) => error);
  console.log(
    `reading a missing file: ${missing instanceof FileNotFoundError ? 'FileNotFoundError' : missing}`,
  );

  if (!same || size !== data.length || !(missing instanceof FileNotFoundError))
    throw new Error('unexpected result');
} finally {
  await sandbox.destroy();
  await rm(local, { recursive: true, force: true });
}
