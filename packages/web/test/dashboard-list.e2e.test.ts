/**
 * The dashboard with auth off (a real `burrow serve`, real engine): it opens straight to the list, with no sign-in.
 * And the list with 500 sandboxes: the server's list answer is replaced by 500 synthetic records, and the page must
 * render them quickly, keep only the rows in view in the DOM, scroll to the last, filter and sort.
 */
import { rm } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeInstance, spawnServer, type ChildServer } from '../../../test/support/child-server.js';
import { makeDataDir } from '../../../test/support/server.js';
import { axeViolations, launch, openPage, screenshot } from './browser.js';

declare const performance: { now(): number };
interface ScrollBox {
  scrollTop: number;
  scrollHeight: number;
}

let server: ChildServer;
let browser: Browser;
let page: Page;

function synthetic(count: number): Record<string, unknown>[] {
  const statuses = ['running', 'running', 'running', 'stopped', 'error'];
  return Array.from({ length: count }, (_, i) => ({
    id: `synthetic${String(i).padStart(11, '0')}`,
    image: i % 3 === 0 ? 'python:3.12-slim' : 'burrow/default:latest',
    status: statuses[i % statuses.length],
    created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    expires_at: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(),
    labels: { team: i % 2 === 0 ? 'red' : 'blue', n: String(i) },
  }));
}

beforeAll(async () => {
  server = await spawnServer({ dataDir: await makeDataDir() });
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  if (server !== undefined) {
    server.process.kill('SIGTERM');
    await server.exited;
    await removeInstance(server.instance);
    await rm(server.dataDir, { recursive: true, force: true });
  }
});

describe('dashboard (auth off)', () => {
  it('opens straight to the sandbox list, with no sign-in and no sign-out', async () => {
    page = (await openPage(browser, `${server.url}/`)).page;
    await page.getByRole('heading', { name: 'Sandboxes', level: 1 }).waitFor();
    expect(await page.getByLabel('API key').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    await expect.poll(() => page.getByTestId('total-sandboxes').innerText()).toBe('0');
  });

  it('renders 500 sandboxes quickly, keeping only the rows in view in the DOM', async () => {
    const records = synthetic(500);
    await page.route(
      (url) => url.pathname === '/api/v1/sandboxes',
      (route) =>
        route.request().method() === 'GET'
          ? route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(records) })
          : route.continue(),
    );
    const started = Date.now();
    await page.reload();
    const table = page.getByRole('table', { name: 'Sandboxes' });
    await expect.poll(() => page.getByTestId('total-sandboxes').innerText()).toBe('500');
    await table.getByRole('link', { name: 'synthetic00000000499' }).waitFor();
    const renderMs = Date.now() - started;
    expect(renderMs).toBeLessThan(5000);
    expect(await table.getAttribute('aria-rowcount')).toBe('501');
    const rendered = await table.locator('tbody tr[data-id]').count();
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(60);

    // Scrolling to the end brings the oldest into the DOM (newest first by default), in one frame's work.
    const scrollMs = await page.locator('.table-scroll').evaluate(async (element) => {
      const box = element as unknown as ScrollBox;
      const start = performance.now();
      box.scrollTop = box.scrollHeight;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return performance.now() - start;
    });
    await table.getByRole('link', { name: 'synthetic00000000000' }).waitFor();
    expect(scrollMs).toBeLessThan(1000);
    expect(await table.locator('tbody tr[data-id]').count()).toBeLessThan(60);

    await page.getByLabel('Filter').fill('synthetic00000000042');
    await expect.poll(() => table.locator('tbody tr[data-id]').count()).toBe(1);
    await page.getByLabel('Filter').fill('');
    await page.getByLabel('Status').selectOption('error');
    await expect.poll(() => page.getByText('100 of 500 shown').count()).toBe(1);
    await page.getByLabel('Status').selectOption('');
    await page.getByRole('button', { name: 'Sandbox' }).click();
    await expect
      .poll(() => table.locator('tbody tr[data-id]').first().getAttribute('data-id'))
      .toBe('synthetic00000000000');
    await screenshot(page, '09-many-sandboxes');
    expect(await axeViolations(page)).toEqual([]);
    await page.unroute((url) => url.pathname === '/api/v1/sandboxes');
  });
});
