/**
 * The docs cannot drift from the code: every fenced `sh` block in README.md and docs/*.md that is marked runnable
 * (an `<!-- runnable -->` line right before it) runs here, with bash -e, against a real `burrow serve` (an
 * ephemeral port, a temporary data directory, the test image as default image). `http://127.0.0.1:8080` in a block
 * is this server's address, and `burrow` is the built CLI.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, removeInstance, spawnServer, type ChildServer } from '../support/child-server.js';
import { makeDataDir } from '../support/server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MARKER = '<!-- runnable -->';

interface RunnableBlock {
  file: string;
  line: number;
  script: string;
}

/** The `sh` blocks right after a runnable marker, with where they start (for the failure message). */
function runnableBlocks(file: string, text: string): RunnableBlock[] {
  const lines = text.split('\n');
  const blocks: RunnableBlock[] = [];
  for (let index = 0; index < lines.length - 1; index++) {
    if (lines[index]?.trim() !== MARKER) continue;
    if (lines[index + 1]?.trim() !== '```sh')
      throw new Error(`${file}:${index + 1}: ${MARKER} must precede a \`\`\`sh block`);
    const end = lines.findIndex((text, at) => at > index + 1 && text.trim() === '```');
    if (end < 0) throw new Error(`${file}:${index + 2}: unterminated block`);
    blocks.push({ file, line: index + 2, script: lines.slice(index + 2, end).join('\n') });
  }
  return blocks;
}

async function docFiles(): Promise<string[]> {
  const docs = (await readdir(join(ROOT, 'docs')))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs.sort()];
}

const blocks: RunnableBlock[] = [];
for (const file of await docFiles())
  blocks.push(...runnableBlocks(file, await readFile(join(ROOT, file), 'utf8')));

let server: ChildServer;
let bin: string;
beforeAll(async () => {
  server = await spawnServer({ dataDir: await makeDataDir() });
  // `burrow` on PATH, as the docs tell a user to put it there.
  bin = await mkdtemp(join(tmpdir(), 'burrow-docs-bin-'));
  await symlink(BIN, join(bin, 'burrow'));
});
afterAll(async () => {
  server?.process.kill('SIGTERM');
  await server?.exited;
  if (server !== undefined) {
    await removeInstance(server.instance);
    await rm(server.dataDir, { recursive: true, force: true });
  }
  await rm(bin, { recursive: true, force: true });
});

function runBlock(script: string): Promise<{ code: number | null; output: string }> {
  const address = new URL(server.url).host;
  const body = script.replaceAll('127.0.0.1:8080', address).replaceAll('localhost:8080', address);
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env))
    if (value !== undefined && !name.startsWith('BURROW_')) env[name] = value;
  Object.assign(env, { PATH: `${bin}:${process.env.PATH ?? ''}`, BURROW_URL: server.url });
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', body], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('runnable commands in the docs', () => {
  it('finds them where a person looks first', () => {
    const files = new Set(blocks.map((block) => block.file));
    for (const file of ['README.md', 'docs/install.md', 'docs/cli.md', 'docs/sdk.md', 'docs/sandboxes.md'])
      expect(files, `${file} has a runnable block`).toContain(file);
  });

  it.each(blocks.map((block) => [`${block.file}:${block.line}`, block] as const))(
    '%s runs',
    async (_where, block) => {
      const { code, output } = await runBlock(block.script);
      expect(code, `${block.file}:${block.line} failed:\n${block.script}\n--- output ---\n${output}`).toBe(0);
    },
  );
});
