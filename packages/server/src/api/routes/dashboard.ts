/**
 * The web dashboard's static assets (built by packages/web) at `/`. Every file is read once at start and served
 * from memory, each by its own route (no path from a request ever reaches the filesystem). Hashed files under
 * `assets/` are immutable for a year; `index.html` is revalidated on every load (ETag), so a new build takes effect
 * at once. Every response carries a strict Content-Security-Policy: scripts, styles and connections from this
 * origin only, no inline code, no framing.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);
/** Names a file may have to be served: what Vite writes (hashes, dots, dashes), nothing that could be a path. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
  etag: string;
  cacheControl: string;
}

function load(file: string, cacheControl: string): Asset {
  const body = readFileSync(file);
  const extension = extname(file);
  const gzip = COMPRESSIBLE.has(extension) && body.length > 1024 ? gzipSync(body) : undefined;
  return {
    type: TYPES[extension] ?? 'application/octet-stream',
    body,
    gzip,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    cacheControl,
  };
}

function files(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => SAFE_NAME.test(name) && statSync(join(dir, name)).isFile());
  } catch {
    return [];
  }
}

/** Whether `dir` holds a built dashboard. */
export function hasDashboard(dir: string): boolean {
  return files(dir).includes('index.html');
}

function send(asset: Asset, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', asset.cacheControl)
    .header('etag', asset.etag)
    .header('vary', 'Accept-Encoding')
    .type(asset.type);
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  if (asset.gzip !== undefined && /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').send(asset.gzip);
  }
  return reply.send(asset.body);
}

/** Serves the dashboard built into `dir` (index.html, assets/*, and other top-level files such as the icon). */
export function dashboardRoutes(app: FastifyInstance, dir: string): void {
  const routes = new Map<string, Asset>();
  for (const name of files(dir)) {
    const asset = load(join(dir, name), REVALIDATE);
    routes.set(`/${name}`, asset);
    if (name === 'index.html') routes.set('/', asset);
  }
  for (const name of files(join(dir, 'assets')))
    routes.set(`/assets/${name}`, load(join(dir, 'assets', name), IMMUTABLE));
  for (const [url, asset] of routes) app.get(url, (request, reply) => send(asset, request, reply));
}
