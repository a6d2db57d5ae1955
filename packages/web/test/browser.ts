/**
 * Headless Chromium (Debian's, driven by playwright-core) for the dashboard's end-to-end tests: a page that records
 * CSP violations and WebSocket URLs, screenshots into test-output/dashboard/, and axe-core accessibility checks.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = fileURLToPath(new URL('../../../test-output/dashboard/', import.meta.url));
// Page-side globals used in evaluate() callbacks (the tests type-check without the DOM library).
declare const document: unknown;

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WatchedPage {
  page: Page;
  /** Console messages that report a Content-Security-Policy violation. */
  cspViolations: string[];
  /** Every WebSocket URL the page opened. */
  sockets: string[];
  /** Every request URL the page made. */
  requests: string[];
}

export async function openPage(browser: Browser, url: string): Promise<WatchedPage> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  // securitypolicyviolation events name the directive and the blocked sample, which the console message does not.
  await page.addInitScript(() => {
    const target = globalThis as unknown as {
      addEventListener(
        type: string,
        listener: (event: { violatedDirective: string; sample: string }) => void,
      ): void;
    };
    target.addEventListener('securitypolicyviolation', (event) =>
      console.log(`CSP violation: ${event.violatedDirective} ${JSON.stringify(event.sample)}`),
    );
  });
  const watched: WatchedPage = { page, cspViolations: [], sockets: [], requests: [] };
  page.on('console', (message) => {
    const text = message.text();
    if (text.startsWith('CSP violation:') || /Content Security Policy/i.test(text))
      watched.cspViolations.push(text);
  });
  page.on('websocket', (socket) => watched.sockets.push(socket.url()));
  page.on('request', (request) => watched.requests.push(request.url()));
  await page.goto(url);
  return watched;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

export interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[]; failureSummary?: string | undefined }[];
}

/**
 * WCAG 2 A/AA rules (labels, names, contrast, ARIA, landmarks) on the page as it is now. The script is evaluated
 * through the DevTools protocol, which the page's CSP does not govern, so nothing in the CSP is relaxed for it.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> };
      }
    ).axe;
    const run = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return run.violations.map((violation) => ({
      id: violation.id,
      help: violation.help,
      nodes: violation.nodes
        .slice(0, 5)
        .map((node) => ({ target: node.target, failureSummary: node.failureSummary })),
    }));
  });
  return result;
}
