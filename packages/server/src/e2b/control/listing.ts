/**
 * `GET /v2/sandboxes`: filters (metadata, state, template, start time) and `X-Next-Token` pagination over the
 * server's sandboxes, newest first unless `order=asc`. A page token names the last sandbox of the page it ends.
 */
import { BurrowError } from '@burrow/protocol';
import type { SandboxView } from '../../engine/engine.js';
import { metadataOf, stateOf, templateOf } from './wire.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 100;

export interface ListQuery {
  metadata: Record<string, string>;
  /** Empty: every state but `creating`. */
  states: string[];
  template?: string;
  startedAfter?: Date;
  order: 'asc' | 'desc';
  limit: number;
  after?: { createdAtMs: number; id: string };
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value !== 'string') throw new BurrowError('VALIDATION_FAILED', `${name}: give one value`);
  return value;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `metadata: ${what} "${text.slice(0, 40)}" is not URL-encoded text`,
    );
  }
}

/** `metadata=k%3Dv%26k2%3Dv2` as E2B's SDKs send it: URL-encoded pairs, each key and value encoded again. */
export function parseMetadataQuery(text: string | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (text === undefined || text === '') return metadata;
  for (const [key, value] of new URLSearchParams(text)) metadata[decode(key, 'key')] = decode(value, 'value');
  return metadata;
}

export function pageToken(view: SandboxView): string {
  return Buffer.from(JSON.stringify([view.createdAt.getTime(), view.id]), 'utf8').toString('base64url');
}

function parseToken(text: string): { createdAtMs: number; id: string } {
  try {
    const [createdAtMs, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAtMs === 'number' && typeof id === 'string') return { createdAtMs, id };
  } catch {
    // reported below
  }
  throw new BurrowError(
    'VALIDATION_FAILED',
    'nextToken: not a token this server gave out: pass the X-Next-Token of the previous page',
  );
}

export function parseListQuery(query: Record<string, unknown>): ListQuery {
  const limitText = single(query.limit, 'limit');
  const limit = limitText === undefined ? DEFAULT_PAGE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new BurrowError('VALIDATION_FAILED', `limit: ${limitText} is not a page size: use 1..${MAX_PAGE}`);
  }
  const order = single(query.order, 'order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc')
    throw new BurrowError('VALIDATION_FAILED', 'order: use asc or desc');
  const states = (single(query.state, 'state') ?? '')
    .split(',')
    .map((state) => state.trim())
    .filter((state) => state !== '');
  const parsed: ListQuery = {
    metadata: parseMetadataQuery(single(query.metadata, 'metadata')),
    states,
    order,
    limit,
  };
  const template = single(query.template, 'template');
  if (template !== undefined && template !== '') parsed.template = template;
  const startedAfter = single(query.startedAfter, 'startedAfter');
  if (startedAfter !== undefined && startedAfter !== '') {
    const date = new Date(startedAfter);
    if (Number.isNaN(date.getTime()))
      throw new BurrowError('VALIDATION_FAILED', 'startedAfter: give an RFC 3339 time');
    parsed.startedAfter = date;
  }
  const token = single(query.nextToken, 'nextToken');
  if (token !== undefined && token !== '') parsed.after = parseToken(token);
  return parsed;
}

function compare(a: SandboxView, b: SandboxView): number {
  return a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id);
}

export function matches(view: SandboxView, query: ListQuery): boolean {
  if (view.status === 'creating') return false;
  if (query.states.length > 0 && !query.states.includes(stateOf(view))) return false;
  if (query.template !== undefined && templateOf(view) !== query.template) return false;
  if (query.startedAfter !== undefined && view.createdAt <= query.startedAfter) return false;
  const metadata = metadataOf(view);
  return Object.entries(query.metadata).every(([key, value]) => metadata[key] === value);
}

/** One page and the token of the next, if there is more. */
export function listPage(
  views: SandboxView[],
  query: ListQuery,
): { items: SandboxView[]; nextToken?: string } {
  const sign = query.order === 'asc' ? 1 : -1;
  let sorted = views.filter((view) => matches(view, query)).sort((a, b) => sign * compare(a, b));
  const after = query.after;
  if (after !== undefined) {
    const marker = { createdAt: new Date(after.createdAtMs), id: after.id } as SandboxView;
    sorted = sorted.filter((view) => sign * compare(view, marker) > 0);
  }
  const items = sorted.slice(0, query.limit);
  const last = items[items.length - 1];
  return sorted.length > query.limit && last !== undefined
    ? { items, nextToken: pageToken(last) }
    : { items };
}
