/**
 * API keys: the config file's keys (admin keys, as in Den) and keys kept in the state database, created with a
 * name, a tenant and an optional expiry, shown once, and revoked at once without a restart.
 *
 * A stored key is kept only as its SHA-256 digest. Keys are 256 (or, in E2B's shape, 160) random bits, not
 * passwords a person picks: a slow, salted password hash exists to make guessing low-entropy secrets expensive, and
 * there is nothing to guess here, while a plain digest lets each request find its key with one indexed lookup.
 * Looking a key up by its digest leaks nothing through timing either: learning a digest prefix says nothing about a
 * key that hashes to it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BurrowError, NAME_PATTERN } from '@burrow/protocol';
import type { Logger } from '../logger.js';
import type { KeyRecord, KeyStore } from '../store/store.js';
import type { Auditor } from './audit.js';
import type { Caller } from './caller.js';
import { systemClock, type Clock } from './clock.js';

/** Turns a presented key into its caller, or undefined when it is no valid key. */
export interface KeyResolver {
  resolve(key: string): Caller | undefined;
  /** Whether any key could be valid (auth on without keys locks everyone out). */
  hasKeys(): boolean;
}

export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The config file's keys: admin keys, compared in constant time against every one of them. */
export class ConfigKeys implements KeyResolver {
  private readonly digests: Buffer[];

  constructor(keys: string[]) {
    this.digests = keys.filter((key) => key !== '').map(keyDigest);
  }

  resolve(key: string): Caller | undefined {
    const presented = keyDigest(key);
    let match = false;
    // No early exit: the time taken says nothing about which key (if any) matched.
    for (const known of this.digests) match = timingSafeEqual(known, presented) || match;
    if (!match) return undefined;
    const id = `config:${presented.subarray(0, 4).toString('hex')}`;
    return { keyId: id, keyName: id, tenant: '', admin: true };
  }

  hasKeys(): boolean {
    return this.digests.length > 0;
  }
}

export interface NewKey {
  name: string;
  /** Default: the key's name; for an admin key, none (''). */
  tenant?: string | undefined;
  admin?: boolean | undefined;
  expiresInMs?: number | undefined;
  format?: 'burrow' | 'e2b' | undefined;
  /** Who creates it: a key name, or `cli:<user>`. */
  createdBy: string;
}

export interface KeyServiceOptions {
  store: KeyStore;
  /** The config file's keys (admin keys). */
  configKeys?: string[];
  logger: Logger;
  clock?: Clock;
  auditor?: Auditor;
  /** How often last-use times are written (default 30 s): not a write per request. */
  flushIntervalMs?: number;
}

/** Cached keys at most; past it the cache starts over (it only saves a lookup). */
const MAX_CACHED = 10_000;
const PREFIX_LENGTH = 12;
/** Names the audit log uses for callers that are no stored key. */
const RESERVED_NAMES = new Set(['system', 'anonymous', 'unauthenticated']);

function checkName(value: string, field: string): string {
  if (!NAME_PATTERN.test(value)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `${field}: "${value}" is not valid: use 1-64 letters, digits, "_" or "-", starting with a letter or digit`,
      { field },
    );
  }
  return value;
}

function generate(format: 'burrow' | 'e2b'): string {
  return format === 'e2b'
    ? `e2b_${randomBytes(20).toString('hex')}`
    : `bk_${randomBytes(32).toString('base64url')}`;
}

export class KeyService implements KeyResolver {
  private readonly store: KeyStore;
  private readonly configKeys: ConfigKeys;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly auditor: Auditor | undefined;
  private readonly flushIntervalMs: number;
  /** Stored keys by digest; valid while no other process changed the file (`externalChanges`). */
  private readonly cache = new Map<string, KeyRecord>();
  private cacheMark: number | undefined;
  private readonly lastUse = new Map<string, Date>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: KeyServiceOptions) {
    this.store = options.store;
    this.configKeys = new ConfigKeys(options.configKeys ?? []);
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.auditor = options.auditor;
    this.flushIntervalMs = options.flushIntervalMs ?? 30_000;
  }

  resolve(key: string): Caller | undefined {
    const fromConfig = this.configKeys.resolve(key);
    if (fromConfig !== undefined) return fromConfig;
    const record = this.lookup(keyDigest(key).toString('hex'));
    if (record === undefined || record.revokedAt !== undefined) return undefined;
    const now = this.clock.now();
    if (record.expiresAt !== undefined && record.expiresAt.getTime() <= now.getTime()) return undefined;
    this.lastUse.set(record.id, now);
    return { keyId: record.id, keyName: record.name, tenant: record.tenant, admin: record.admin };
  }

  private lookup(hash: string): KeyRecord | undefined {
    // A revocation by another process (`burrow keys revoke`) changes the file's data version: drop the cache.
    const mark = this.store.externalChanges();
    if (mark !== this.cacheMark) {
      this.cache.clear();
      this.cacheMark = mark;
    }
    const cached = this.cache.get(hash);
    if (cached !== undefined) return cached;
    const record = this.store.keyByHash(hash);
    if (record === undefined) return undefined;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(hash, record);
    return record;
  }

  hasKeys(): boolean {
    return this.configKeys.hasKeys() || this.store.listKeys().some((record) => this.isLive(record));
  }

  /** Stored keys that work now. */
  liveCount(): number {
    return this.store.listKeys().filter((record) => this.isLive(record)).length;
  }

  /** Tenants of the stored keys that work now. */
  tenants(): string[] {
    return [
      ...new Set(
        this.store
          .listKeys()
          .filter((record) => this.isLive(record))
          .map((record) => record.tenant),
      ),
    ];
  }

  private isLive(record: KeyRecord): boolean {
    if (record.revokedAt !== undefined) return false;
    return record.expiresAt === undefined || record.expiresAt.getTime() > this.clock.now().getTime();
  }

  /** Creates a key; the returned `key` is the only time it is ever shown. */
  create(input: NewKey): { record: KeyRecord; key: string } {
    const name = checkName(input.name, 'name');
    if (RESERVED_NAMES.has(name.toLowerCase()))
      throw new BurrowError(
        'VALIDATION_FAILED',
        `name: "${name}" is reserved (the audit log uses it): pick another`,
        {
          field: 'name',
        },
      );
    const admin = input.admin === true;
    const tenant = input.tenant ?? (admin ? '' : name);
    if (tenant !== '' || !admin) checkName(tenant, 'tenant');
    if (input.expiresInMs !== undefined && !(input.expiresInMs > 0)) {
      throw new BurrowError('VALIDATION_FAILED', 'expires_in: give a positive number of seconds', {
        field: 'expires_in',
      });
    }
    const key = generate(input.format ?? 'burrow');
    const now = this.clock.now();
    const record: KeyRecord = {
      id: `key_${randomBytes(8).toString('hex')}`,
      name,
      tenant,
      admin,
      hash: keyDigest(key).toString('hex'),
      prefix: key.slice(0, PREFIX_LENGTH),
      createdAt: now,
      createdBy: input.createdBy,
    };
    if (input.expiresInMs !== undefined) record.expiresAt = new Date(now.getTime() + input.expiresInMs);
    this.store.insertKey(record);
    this.cache.clear();
    this.auditor?.record(
      {
        action: 'key.create',
        detail: { id: record.id, name, tenant, admin: record.admin, prefix: record.prefix },
      },
      'ok',
    );
    this.logger.info({ key: record.id, name, tenant, admin: record.admin }, 'API key created');
    return { record, key };
  }

  /** Every stored key (revoked ones too), with last-use times not yet written. */
  list(): KeyRecord[] {
    return this.store.listKeys().map((record) => {
      const pending = this.lastUse.get(record.id);
      return pending === undefined ? record : { ...record, lastUsedAt: pending };
    });
  }

  /** Revokes a key by id, or by the name of a key not revoked; it stops working on its next request. */
  revoke(idOrName: string): KeyRecord {
    const keys = this.store.listKeys();
    const record =
      keys.find((candidate) => candidate.id === idOrName) ??
      keys.find((candidate) => candidate.name === idOrName && candidate.revokedAt === undefined);
    if (record === undefined || record.revokedAt !== undefined) {
      throw new BurrowError(
        'KEY_NOT_FOUND',
        `no key ${JSON.stringify(idOrName)} to revoke: give the id or name of a key not revoked (burrow keys ls)`,
      );
    }
    const at = this.clock.now();
    this.store.revokeKey(record.id, at);
    this.cache.clear();
    this.auditor?.record(
      { action: 'key.revoke', detail: { id: record.id, name: record.name, tenant: record.tenant } },
      'ok',
    );
    this.logger.info({ key: record.id, name: record.name }, 'API key revoked');
    return { ...record, revokedAt: at };
  }

  /** Writes last-use times gathered since the last flush. */
  flush(): void {
    if (this.lastUse.size === 0) return;
    const batch = new Map(this.lastUse);
    this.lastUse.clear();
    try {
      this.store.touchKeys(batch);
    } catch (error) {
      this.logger.warn({ err: error }, 'could not record when keys were last used');
    }
  }

  start(): void {
    this.timer = setInterval(() => this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.flush();
  }
}
