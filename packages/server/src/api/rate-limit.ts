/**
 * Token-bucket rate limiting: one bucket per caller, refilled at `rps` tokens a second up to `burst`, one token a
 * request (a tenant may have its own `rps` and `burst`, given with its caller's first request). A caller is its API key when it presented a valid one (a digest, never the key), else its address.
 * Forwarding headers choose the address only when the server is told it sits behind a proxy (`trustProxy`);
 * otherwise anyone could pick a fresh bucket per request by sending a new `X-Forwarded-For`.
 */
import { isIPv6 } from 'node:net';
import type { FastifyRequest } from 'fastify';
import type { AuthResult } from './auth.js';

export interface RateLimitOptions {
  rps: number;
  burst: number;
  /** Most callers tracked; the least recently seen is evicted first. */
  maxKeys?: number;
  now?: () => number;
}

/** A bucket's refill rate and size. */
export interface RateLimit {
  rps: number;
  burst: number;
}

interface Bucket extends RateLimit {
  tokens: number;
  updatedMs: number;
}

export type TakeResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly rps: number;
  private readonly burst: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: RateLimitOptions) {
    this.rps = options.rps;
    this.burst = options.burst;
    this.maxKeys = options.maxKeys ?? 100_000;
    this.now = options.now ?? (() => performance.now());
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Takes a token from `key`'s bucket; `limit` (default the server's) applies to a new bucket. */
  take(key: string, limit?: RateLimit): TakeResult {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (
      bucket !== undefined &&
      limit !== undefined &&
      (bucket.rps !== limit.rps || bucket.burst !== limit.burst)
    )
      bucket = undefined;
    if (bucket === undefined) {
      // Full map: forget the least recently seen caller (never "allow everyone" as Den's overflow did).
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (oldest.done !== true) this.buckets.delete(oldest.value);
      }
      const { rps, burst } = limit ?? { rps: this.rps, burst: this.burst };
      bucket = { tokens: burst, updatedMs: now, rps, burst };
    } else {
      this.buckets.delete(key);
      bucket.tokens = Math.min(bucket.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * bucket.rps);
      bucket.updatedMs = now;
    }
    // Re-inserting keeps the map in least-recently-seen order.
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    const seconds = bucket.rps > 0 ? Math.ceil((1 - bucket.tokens) / bucket.rps) : 60;
    return { allowed: false, retryAfterSeconds: Math.max(1, seconds) };
  }

  /** Drops buckets idle long enough to have refilled: a full bucket is the same as no bucket. */
  sweep(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      const refillMs = bucket.rps > 0 ? (bucket.burst / bucket.rps) * 1000 : Number.POSITIVE_INFINITY;
      if (now - bucket.updatedMs >= refillMs) this.buckets.delete(key);
    }
  }
}

/** IPv6 callers are grouped by /64 (one host usually owns a whole /64); IPv4-mapped addresses become IPv4. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The caller's address: the socket peer, or (only with `trustProxy`) what the proxy reports. */
export function clientAddress(request: FastifyRequest, trustProxy: boolean): string {
  if (trustProxy) {
    const realIp = request.headers['x-real-ip'];
    if (
      request.headers['x-forwarded-for'] === undefined &&
      typeof realIp === 'string' &&
      realIp.trim() !== ''
    )
      return realIp.trim();
    return request.ip;
  }
  return request.raw.socket.remoteAddress ?? 'unknown';
}

export function rateLimitKey(request: FastifyRequest, auth: AuthResult, trustProxy: boolean): string {
  if (auth.kind === 'valid') return `key:${auth.caller.keyId}`;
  return `ip:${addressKey(clientAddress(request, trustProxy))}`;
}
