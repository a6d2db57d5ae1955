/**
 * Fails the build when the dashboard's initial load is over budget: index.html plus every script and stylesheet
 * it references (and their static imports), gzipped. Chunks loaded on demand (the terminal) are reported, not counted.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET_BYTES = 250 * 1024;
const dist = new URL('../dist/', import.meta.url).pathname;
const html = readFileSync(join(dist, 'index.html'), 'utf8');
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;

/** Files index.html loads at once, following static `import ... from "./x.js"` between chunks. */
const initial = new Set();
const queue = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((match) => match[1]);
while (queue.length > 0) {
  const file = queue.pop();
  if (initial.has(file)) continue;
  initial.add(file);
  if (!file.endsWith('.js')) continue;
  const code = readFileSync(join(dist, file), 'utf8');
  // Static imports only: `import{a}from"./x.js"` or `import"./x.js"`; dynamic `import("./x.js")` is on demand.
  for (const match of code.matchAll(/(?:^|[;\s}])import\s*(?:[\w*{}\s,$]+from\s*)?["']\.\/([^"']+)["']/g))
    queue.push(`assets/${match[1]}`);
}
const all = readdirSync(join(dist, 'assets')).map((name) => `assets/${name}`);
let total = gz('index.html');
for (const file of initial) total += gz(file);
const lazy = all.filter((file) => !initial.has(file));
const kib = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;
console.log(
  `dashboard: initial load ${kib(total)} gzipped (budget ${kib(BUDGET_BYTES)}): index.html ${[...initial].join(' ')}`,
);
for (const file of lazy) console.log(`dashboard: on demand ${file} ${kib(gz(file))} gzipped`);
if (total > BUDGET_BYTES) {
  console.error(`dashboard: the initial load is over budget by ${kib(total - BUDGET_BYTES)}`);
  process.exit(1);
}
