/**
 * `burrow shell` as a person uses it, in a real terminal (tmux) against a real server: the remote prompt, typing
 * with line editing and history, Ctrl-C stopping the remote program, a window resize, and `exit` returning the
 * shell's status with the local terminal as it was before.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Burrow, type Sandbox } from '@burrow/sdk';
import { startTestServer, type TestServer } from '../../../test/support/server.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const SOCKET = `burrow-e2e-${randomBytes(4).toString('hex')}`;
const SESSION = 'shell';

let server: TestServer;
let sandbox: Sandbox;
let dir: string;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
}

/** What the terminal shows now, trailing blank lines removed. */
function screen(): string {
  return tmux('capture-pane', '-p', '-t', SESSION).replace(/\n+$/, '');
}

async function waitFor(check: (text: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = screen();
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the terminal shows:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The last line is bash's prompt (`user@host:dir$`, `#` for root; tmux drops trailing blanks). */
const atPrompt = (text: string) => /^[\w-]+@[\w.-]+:[^\n]*[$#] ?$/.test(text.split('\n').at(-1) ?? '');

/** Types text (literally) and then keys (tmux key names). */
function type(text: string, ...keys: string[]): void {
  if (text !== '') tmux('send-keys', '-t', SESSION, '-l', text);
  if (keys.length > 0) tmux('send-keys', '-t', SESSION, ...keys);
}

beforeAll(async () => {
  server = await startTestServer();
  sandbox = await new Burrow({ url: server.url }).create({ timeoutSeconds: 900 });
  dir = await mkdtemp(join(tmpdir(), 'burrow-shell-tty-'));
});
afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
  await sandbox?.destroy().catch(() => undefined);
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

it('is a real terminal: prompt, line editing, history, Ctrl-C, resize, exit status, terminal restored', async () => {
  const result = join(dir, 'result');
  // The wrapper records the terminal's settings before and after, and the CLI's exit status.
  const script =
    `before=$(stty -g); BURROW_URL='${server.url}' '${process.execPath}' '${BIN}' shell ${sandbox.id}; rc=$?; ` +
    `after=$(stty -g); [ "$before" = "$after" ] && same=yes || same=no; echo "rc=$rc restored=$same" > '${result}'; ` +
    'sleep 600';
  tmux('new-session', '-d', '-s', SESSION, '-x', '100', '-y', '30', 'sh', '-c', script);

  await waitFor(atPrompt, 'the remote prompt');

  type('echo $((6 * 7))', 'Enter');
  await waitFor((text) => /^42$/m.test(text) && atPrompt(text), 'the answer');

  // Line editing by the remote shell: a backspace, then the same line again from history.
  type('echo abc', 'BSpace');
  type('d', 'Enter');
  await waitFor((text) => /^abd$/m.test(text) && atPrompt(text), 'the edited line');
  type('', 'Up', 'Enter');
  await waitFor(
    (text) => (text.match(/^abd$/gm) ?? []).length === 2 && atPrompt(text),
    'the line from history',
  );

  // Ctrl-C reaches the remote program, not the CLI.
  type('sleep 60', 'Enter');
  await new Promise((resolve) => setTimeout(resolve, 500));
  const interrupted = Date.now();
  type('', 'C-c');
  await waitFor((text) => /sleep 60\n\^C\n/.test(text) && atPrompt(text), 'the interrupted prompt', 10_000);
  expect(Date.now() - interrupted).toBeLessThan(5000);
  type('echo "status=$?"', 'Enter');
  await waitFor((text) => /^status=130$/m.test(text), 'the status of the interrupted command');

  // The window grows: the remote terminal follows.
  tmux('resize-window', '-t', SESSION, '-x', '120', '-y', '40');
  await new Promise((resolve) => setTimeout(resolve, 300));
  type('stty size', 'Enter');
  await waitFor((text) => /^40 120$/m.test(text), 'the new size');

  type('exit 3', 'Enter');
  const deadline = Date.now() + 20_000;
  let outcome = '';
  while (outcome === '' && Date.now() < deadline) {
    outcome = await readFile(result, 'utf8').catch(() => '');
    if (outcome === '') await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(outcome.trim()).toBe('rc=3 restored=yes');
});
