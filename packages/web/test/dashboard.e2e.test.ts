/**
 * The dashboard as a person uses it, in headless Chromium against a real `burrow serve` (auth on) on the real
 * engine: sign in (a wrong key refused), create a sandbox from the form (an API validation error shown by its
 * field), run commands in the terminal, upload (picker and drag and drop), list, open and download files
 * (byte-exact), watch the charts draw, snapshot and restore, destroy, and read an API error. Every page is
 * screenshotted (test-output/dashboard/) and checked with axe (labels, names, contrast), the keyboard walks it,
 * and the CSP (no inline scripts or styles) is never violated, with the API key never in a URL.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeInstance, spawnServer, type ChildServer } from '../../../test/support/child-server.js';
import { makeDataDir } from '../../../test/support/server.js';
import { axeViolations, launch, openPage, screenshot, type WatchedPage } from './browser.js';

// Page-side globals used in evaluate() callbacks (the tests type-check without the DOM library).
interface PageElement {
  id: string;
  classList: { contains(name: string): boolean };
  getAttribute(name: string): string | null;
  labels?: { textContent: string | null }[] | null;
  innerText: string;
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(
    kind: '2d',
  ): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
}
declare const document: { activeElement: PageElement | null };
declare const sessionStorage: { getItem(key: string): string | null };
declare const DataTransfer: new () => { items: { add(file: unknown): void } };
declare const File: new (parts: string[], name: string, options: { type: string }) => unknown;

const KEY = `dash-${randomBytes(6).toString('hex')}`;
let server: ChildServer;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let scratch: string;
let sandboxId = '';
let restoredId = '';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The API itself, with the key (for what the test sets up beside the dashboard). */
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${path}`, { ...init, headers: { 'x-api-key': KEY, ...init.headers } });

async function expectAccessible(name: string): Promise<void> {
  const violations = await axeViolations(page);
  expect([name, violations]).toEqual([name, []]);
}

async function terminalText(): Promise<string> {
  return page.locator('.xterm-rows').innerText();
}

/** Waits until the terminal shows `text`; on timeout the failure shows what it did show. */
async function waitForTerminal(text: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let shown = '';
  while (Date.now() < deadline) {
    shown = await terminalText();
    if (shown.includes(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(shown).toContain(text);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'burrow-dashboard-e2e-'));
  server = await spawnServer({ dataDir: await makeDataDir(), args: ['--api-key', KEY] });
  browser = await launch();
  watched = await openPage(browser, `${server.url}/`);
  page = watched.page;
});

afterAll(async () => {
  await browser?.close();
  if (server !== undefined) {
    server.process.kill('SIGTERM');
    await server.exited;
    await removeInstance(server.instance);
    await rm(server.dataDir, { recursive: true, force: true });
  }
  await rm(scratch, { recursive: true, force: true });
});

describe('dashboard (auth on, real engine)', () => {
  it('is announced by burrow serve', () => {
    expect(server.output()).toContain(`"dashboard":"${server.url}/"`);
  });

  it('signs in with a key, refusing a wrong one', async () => {
    await page.getByLabel('API key').waitFor();
    await screenshot(page, '01-sign-in');
    await expectAccessible('sign-in');
    await page.getByLabel('API key').fill(`${KEY}-wrong`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain('UNAUTHORIZED');
    expect(await alert.innerText()).toContain('invalid API key');
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sandboxes', level: 1 }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('burrow.apiKey'))).toBe(KEY);
  });

  it('creates a sandbox from the form, showing an API validation error by its field', async () => {
    await page.getByRole('link', { name: 'New sandbox' }).first().click();
    await page.getByRole('heading', { name: 'New sandbox' }).waitFor();
    // The options the server offers beyond Den's are on the form.
    await page.getByLabel('Isolation runtime').selectOption('runc');
    await page.getByLabel('Egress allowlist').waitFor();
    await page.getByLabel('Egress secrets').waitFor();
    await page.getByLabel('Public ports').waitFor();
    await page.getByLabel('Memory (MiB)').fill('1');
    await page.getByLabel('Labels').fill('suite=dashboard\nowner=e2e');
    await page.getByRole('button', { name: 'Create sandbox' }).click();
    const fieldError = page.locator('#create-memoryMiB-error');
    await expect.poll(() => fieldError.innerText()).toContain('6 MiB minimum');
    expect(await page.getByLabel('Memory (MiB)').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('alert').first().innerText()).toContain('VALIDATION_FAILED');
    await screenshot(page, '03-create-form-error');
    await expectAccessible('create form');
    await page.getByLabel('Memory (MiB)').fill('128');
    await page.getByRole('button', { name: 'Create sandbox' }).click();
    await page.waitForURL(/#\/sandboxes\/[a-z0-9]+/);
    sandboxId = decodeURIComponent(/#\/sandboxes\/([^/]+)/.exec(page.url())?.[1] ?? '');
    expect(sandboxId).toMatch(/^[a-z0-9]{20}$/);
    await page.getByRole('heading', { name: sandboxId }).waitFor();
  });

  it('runs a shell on a terminal: output, Ctrl-C, and the size follows the window', async () => {
    const terminal = page.locator('.terminal[data-ready="true"]');
    await terminal.waitFor();
    expect(await terminal.getAttribute('data-mode')).toBe('pty');
    await terminal.click();
    await page.keyboard.type('echo dashboard-$((6*7))');
    await page.keyboard.press('Enter');
    await waitForTerminal('dashboard-42');
    // Ctrl-C reaches the program on the terminal, and the shell takes the next line.
    await page.keyboard.type('sleep 60');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Control+C');
    await page.keyboard.type('cd /tmp; pwd; false; echo status-$?');
    await page.keyboard.press('Enter');
    await waitForTerminal('status-1');
    expect(await terminalText()).toMatch(/^\/tmp\s*$/m);
    // The terminal has the screen's size, and follows it when the window changes.
    const columns = async () => {
      await page.keyboard.type('echo cols-$(stty size | cut -d" " -f2)-end');
      await page.keyboard.press('Enter');
      const deadline = Date.now() + 20_000;
      for (;;) {
        const found = [...(await terminalText()).matchAll(/cols-(\d+)-end/g)].map((match) =>
          Number(match[1]),
        );
        if (found.length > 0) return found[found.length - 1]!;
        if (Date.now() > deadline) throw new Error('stty size never answered');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const before = await columns();
    expect(before).toBeGreaterThan(20);
    const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
    await page.setViewportSize({ width: Math.round(viewport.width * 0.6), height: viewport.height });
    await expect.poll(columns, { timeout: 20_000 }).toBeLessThan(before);
    await page.setViewportSize(viewport);
    await screenshot(page, '04-terminal');
    await expectAccessible('terminal');
    // Escape then Tab leaves the terminal: the keyboard is never trapped.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(
      await page.evaluate(() => document.activeElement?.classList.contains('xterm-helper-textarea')),
    ).toBe(false);
  });

  it('uploads, lists, opens, downloads byte-exact, makes and deletes folders', async () => {
    await page.getByRole('tab', { name: 'Files' }).click();
    await page.getByRole('heading', { name: 'Files' }).waitFor();
    const binary = randomBytes(300 * 1024);
    await page.getByLabel('Files to upload').setInputFiles([
      { name: 'data.bin', mimeType: 'application/octet-stream', buffer: binary },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the dashboard\n') },
    ]);
    const listing = page.getByRole('table', { name: 'Contents of /home/sandbox' });
    await listing.getByRole('button', { name: 'data.bin', exact: true }).waitFor();
    await listing.getByRole('button', { name: 'notes.txt', exact: true }).waitFor();
    await expect
      .poll(() => page.getByRole('list', { name: 'Uploads' }).innerText())
      .toMatch(/data\.bin[\s\S]*done, 300 KiB/);
    // Drag and drop: a drop event carrying a file, as a browser sends it.
    const dropped = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
      return transfer;
    });
    await page.locator('.drop').dispatchEvent('drop', { dataTransfer: dropped });
    await listing.getByRole('button', { name: 'dropped.txt', exact: true }).waitFor();

    await listing.getByRole('button', { name: 'notes.txt', exact: true }).click();
    await expect
      .poll(() => page.getByLabel('Contents of /home/sandbox/notes.txt').innerText())
      .toContain('hello from the dashboard');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download data.bin' }).click(),
    ]);
    const saved = join(scratch, 'data.bin');
    await download.saveAs(saved);
    expect(download.suggestedFilename()).toBe('data.bin');
    expect(sha256(await readFile(saved))).toBe(sha256(binary));

    await page.getByLabel('New folder').fill('made-here');
    await page.getByRole('button', { name: 'Create folder' }).click();
    await listing.getByRole('button', { name: 'made-here/', exact: true }).waitFor();
    await screenshot(page, '05-files');
    await expectAccessible('files');
    await page.getByRole('button', { name: 'Delete made-here' }).click();
    await listing.getByRole('button', { name: 'made-here/', exact: true }).waitFor({ state: 'detached' });
  });

  it('draws CPU, memory, network and process charts', async () => {
    await page.getByRole('tab', { name: 'Metrics' }).click();
    for (const chart of ['cpu', 'memory', 'network', 'pids'])
      await expect
        .poll(() => page.locator(`figure[data-chart="${chart}"]`).getAttribute('data-points'), {
          timeout: 30_000,
        })
        .toMatch(/^([3-9]|\d\d+)$/);
    // The memory line is on the canvas: some pixels are painted in the series' colour.
    const painted = await page.locator('figure[data-chart="memory"] canvas').evaluate((canvas) => {
      const surface = canvas as unknown as PageCanvas;
      const context = surface.getContext('2d');
      if (context === null) return 0;
      const { data } = context.getImageData(0, 0, surface.width, surface.height);
      let count = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0) count += 1;
      return count;
    });
    expect(painted).toBeGreaterThan(200);
    await screenshot(page, '06-metrics');
    await expectAccessible('metrics');
  });

  it('pauses and resumes the sandbox', async () => {
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByRole('button', { name: 'Resume', exact: true }).waitFor({ timeout: 30_000 });
    await expect
      .poll(() => page.locator('.sandbox-head').innerText(), { timeout: 20_000 })
      .toContain('paused');
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.getByRole('button', { name: 'Pause', exact: true }).waitFor({ timeout: 30_000 });
    await expect
      .poll(() => page.locator('.sandbox-head').innerText(), { timeout: 20_000 })
      .toContain('running');
  });

  it('lists background processes, shows their output and kills them', async () => {
    const started = await api(`/sandboxes/${sandboxId}/processes`, {
      method: 'POST',
      body: JSON.stringify({
        cmd: ['sh', '-c', 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.2; done'],
        tag: 'ticker',
      }),
    });
    expect(started.status).toBe(201);
    await page.getByRole('tab', { name: 'Processes' }).click();
    const table = page.getByRole('table', { name: 'Processes' });
    await table.getByRole('cell', { name: 'ticker', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Output of ticker' }).click();
    // Replayed and then live: the count goes on while the panel shows it.
    await expect.poll(() => page.getByTestId('process-output').innerText()).toContain('tick-0');
    await expect
      .poll(() => page.getByTestId('process-output').innerText(), { timeout: 20_000 })
      .toMatch(/tick-1\d/);
    await screenshot(page, '05b-processes');
    await expectAccessible('processes');
    await page.getByRole('button', { name: 'Kill ticker' }).click();
    await expect
      .poll(() => table.locator('tr', { hasText: 'ticker' }).innerText(), { timeout: 20_000 })
      .toMatch(/exited \d+/);
    expect(await page.getByRole('button', { name: 'Kill ticker' }).count()).toBe(0);
  });

  it('opens a sandbox port through its preview link', async () => {
    const page200 = await api(`/sandboxes/${sandboxId}/files?path=/tmp/index.html`, {
      method: 'PUT',
      body: 'served-by-the-sandbox',
    });
    expect(page200.status).toBeLessThan(300);
    const started = await api(`/sandboxes/${sandboxId}/processes`, {
      method: 'POST',
      body: JSON.stringify({
        cmd: ['python3', '-m', 'http.server', '8000', '--bind', '127.0.0.1', '--directory', '/tmp'],
        tag: 'web',
      }),
    });
    expect(started.status).toBe(201);
    // The server is up inside once it answers there.
    const inside = async () => {
      const response = await api(`/sandboxes/${sandboxId}/exec`, {
        method: 'POST',
        body: JSON.stringify({
          cmd: [
            'python3',
            '-c',
            'import urllib.request as u; print(u.urlopen("http://127.0.0.1:8000/").read().decode())',
          ],
        }),
      });
      return ((await response.json()) as { stdout: string }).stdout;
    };
    await expect.poll(inside, { timeout: 20_000 }).toContain('served-by-the-sandbox');
    await page.getByRole('tab', { name: 'Info' }).click();
    await page.getByLabel('Port', { exact: true }).fill('8000');
    await page.getByRole('button', { name: 'Get preview link' }).click();
    const link = page.getByTestId('preview-link');
    await link.waitFor();
    await expectAccessible('info with a preview link');
    const [opened] = await Promise.all([page.context().waitForEvent('page'), link.click()]);
    await expect
      .poll(() => opened.locator('body').innerText(), { timeout: 20_000 })
      .toContain('served-by-the-sandbox');
    await opened.close();
  });

  it('forks the sandbox into a new one and goes there', async () => {
    await page.getByRole('button', { name: 'Fork', exact: true }).click();
    await page.waitForURL((url) => /#\/sandboxes\//.test(url.hash) && !url.hash.includes(sandboxId), {
      timeout: 60_000,
    });
    const copyId = decodeURIComponent(/#\/sandboxes\/([^/]+)/.exec(page.url())?.[1] ?? '');
    expect(copyId).toMatch(/^[a-z0-9]{20}$/);
    await page.getByRole('heading', { name: copyId }).waitFor();
    // The copy has the original's files.
    await page.getByRole('tab', { name: 'Files' }).click();
    await page
      .getByRole('table', { name: 'Contents of /home/sandbox' })
      .getByRole('button', { name: 'notes.txt', exact: true })
      .waitFor();
    await page.getByRole('button', { name: 'Destroy', exact: true }).click();
    await page.getByRole('button', { name: 'Confirm: destroy' }).click();
    await page.waitForURL((url) => url.hash === '#/');
    await page.goto(`${server.url}/#/sandboxes/${sandboxId}`);
    await page.getByRole('heading', { name: sandboxId }).waitFor();
  });

  it('takes a snapshot and restores it into a new sandbox with the files', async () => {
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByLabel('Snapshot name').fill('before');
    await page.getByRole('button', { name: 'Take snapshot' }).click();
    await page.getByRole('button', { name: 'Restore before' }).waitFor({ timeout: 60_000 });
    await screenshot(page, '07-snapshots');
    await expectAccessible('snapshots');
    await page.getByRole('button', { name: 'Restore before' }).click();
    await page.waitForURL((url) => /#\/sandboxes\//.test(url.hash) && !url.hash.includes(sandboxId), {
      timeout: 60_000,
    });
    restoredId = decodeURIComponent(/#\/sandboxes\/([^/]+)/.exec(page.url())?.[1] ?? '');
    expect(restoredId).not.toBe(sandboxId);
    await page.getByRole('tab', { name: 'Files' }).click();
    await page
      .getByRole('table', { name: 'Contents of /home/sandbox' })
      .getByRole('button', { name: 'notes.txt', exact: true })
      .waitFor();
  });

  it('lists both sandboxes live, with filter and keyboard navigation', async () => {
    await page.getByRole('link', { name: 'Sandboxes' }).first().click();
    const table = page.getByRole('table', { name: 'Sandboxes' });
    await table.getByRole('link', { name: sandboxId }).waitFor();
    await table.getByRole('link', { name: restoredId }).waitFor();
    await page.getByLabel('Filter').fill('owner=e2e');
    await expect.poll(() => table.locator('tbody tr[data-id]').count()).toBe(2);
    await page.getByLabel('Filter').fill('');
    // CPU and memory at a glance: the memory cell of a running sandbox in view fills in.
    expect(await table.locator(`tr[data-id="${sandboxId}"] td`).nth(3).innerText()).toContain('· runc');
    await expect
      .poll(() => page.getByTestId('server-totals').innerText())
      .toContain('server totals: 2 (2 running');
    const memory = table.locator(`tr[data-id="${sandboxId}"] td`).nth(7);
    await expect.poll(() => memory.innerText(), { timeout: 20_000 }).toMatch(/\d+(\.\d)? (B|KiB|MiB)/);
    await screenshot(page, '02-sandboxes');
    await expectAccessible('sandboxes');
    // The keyboard reaches the skip link, the navigation, the filter and the rows, in that order.
    await page.reload();
    await table.getByRole('link', { name: sandboxId }).waitFor();
    const reached: string[] = [];
    for (let i = 0; i < 16; i += 1) {
      await page.keyboard.press('Tab');
      reached.push(
        await page.evaluate(() => {
          const element = document.activeElement;
          if (element === null) return '';
          return (
            element.getAttribute('aria-label') ??
            element.labels?.[0]?.textContent ??
            element.innerText
          ).trim();
        }),
      );
    }
    const order = ['Skip to content', 'Sandboxes', 'New sandbox', 'Sign out', 'Filter'].map((name) =>
      reached.indexOf(name),
    );
    expect([reached, order.every((index, i) => index >= 0 && (i === 0 || index > order[i - 1]!))]).toEqual([
      reached,
      true,
    ]);
    await page.keyboard.press('Escape');
  });

  it('moves between sandbox tabs with the arrow keys', async () => {
    await page.goto(`${server.url}/#/sandboxes/${restoredId}/terminal`);
    await page.getByRole('tab', { name: 'Terminal' }).focus();
    await page.keyboard.press('ArrowRight');
    await expect
      .poll(() => page.getByRole('tab', { name: 'Processes' }).getAttribute('aria-selected'))
      .toBe('true');
    // Focus follows on the next frame.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('tab-processes');
    await page.keyboard.press('End');
    await expect
      .poll(() => page.getByRole('tab', { name: 'Info' }).getAttribute('aria-selected'))
      .toBe('true');
    await expectAccessible('info');
  });

  it('destroys sandboxes (one from its page, one in bulk) and they leave the list', async () => {
    await page.goto(`${server.url}/#/sandboxes/${sandboxId}`);
    await page.getByRole('button', { name: 'Destroy', exact: true }).click();
    await page.getByRole('button', { name: 'Confirm: destroy' }).click();
    await page.waitForURL((url) => url.hash === '#/');
    const table = page.getByRole('table', { name: 'Sandboxes' });
    await table.getByRole('link', { name: restoredId }).waitFor();
    await table.getByRole('link', { name: sandboxId }).waitFor({ state: 'detached' });
    await page.getByLabel(`Select ${restoredId}`).check();
    await page.getByRole('button', { name: 'Destroy selected (1)' }).click();
    await page.getByRole('button', { name: 'Confirm: destroy 1' }).click();
    await table.getByRole('link', { name: restoredId }).waitFor({ state: 'detached', timeout: 30_000 });
    await expect.poll(() => page.getByTestId('total-sandboxes').innerText()).toBe('0');
  });

  it('shows API errors as readable messages with their code', async () => {
    await page.goto(`${server.url}/#/sandboxes/${'x'.repeat(20)}`);
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.innerText()).toContain('SANDBOX_NOT_FOUND');
    await screenshot(page, '08-error');
    await expectAccessible('error');
  });

  it('kept the CSP and never put the key in a URL', () => {
    expect(watched.cspViolations).toEqual([]);
    expect(watched.sockets.length).toBeGreaterThan(0);
    for (const url of [...watched.sockets, ...watched.requests]) expect(url).not.toContain(KEY);
  });
});
