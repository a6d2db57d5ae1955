/**
 * Every route the app registers, captured as it is added. Fastify answers a known path with the wrong method as
 * a plain 404; this table lets the not-found handler answer 405 with an `Allow` header instead, and lets tests
 * check that the OpenAPI document describes every route.
 */
import type { FastifyInstance } from 'fastify';

export interface RegisteredRoute {
  method: string;
  /** Fastify's pattern, e.g. `/api/v1/sandboxes/:id`. */
  url: string;
  /** A WebSocket route (it has a WebSocket handler). */
  websocket?: true;
  /** Only admin keys may use it (`config: { access: 'admin' }`). */
  admin?: true;
}

interface CompiledRoute extends RegisteredRoute {
  pattern: RegExp;
}

function compile(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment.startsWith(':')) return '[^/]+';
      if (segment === '*') return '.*';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

export class RouteRegistry {
  private readonly compiled: CompiledRoute[] = [];

  add(method: string, url: string, kind: { websocket?: boolean; admin?: boolean } = {}): void {
    if (method === 'HEAD' || this.compiled.some((route) => route.method === method && route.url === url))
      return;
    this.compiled.push({
      method,
      url,
      pattern: compile(url),
      ...(kind.websocket === true ? { websocket: true as const } : {}),
      ...(kind.admin === true ? { admin: true as const } : {}),
    });
  }

  get routes(): RegisteredRoute[] {
    return this.compiled.map(({ pattern: _pattern, ...route }) => route);
  }

  /** Methods registered for a concrete path (without its query string). */
  methodsFor(path: string): string[] {
    return [
      ...new Set(this.compiled.filter((route) => route.pattern.test(path)).map((route) => route.method)),
    ];
  }
}

const registries = new WeakMap<FastifyInstance, RouteRegistry>();

/** Starts recording routes; call before any route is added. */
export function recordRoutes(app: FastifyInstance): RouteRegistry {
  const registry = new RouteRegistry();
  app.addHook('onRoute', (route) => {
    const websocket = typeof route.wsHandler === 'function' || route.websocket === true;
    const admin = (route.config as { access?: string } | undefined)?.access === 'admin';
    for (const method of [route.method].flat()) registry.add(method, route.url, { websocket, admin });
  });
  registries.set(app, registry);
  return registry;
}

/** The routes of an app built by `buildApp`. */
export function routeRegistryOf(app: FastifyInstance): RouteRegistry {
  const registry = registries.get(app);
  if (registry === undefined) throw new Error('this app does not record its routes');
  return registry;
}
