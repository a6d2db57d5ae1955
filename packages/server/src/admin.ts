/**
 * The composition root of `burrow keys` and `burrow audit` on the server host: the data directory's SQLite file
 * opened directly (the server may be running: SQLite's WAL lets both write, and the server sees a revocation on its
 * next request), with the person at the terminal as the audit log's "who".
 */
import { Auditor } from './engine/audit.js';
import { CallerContext, type Caller } from './engine/caller.js';
import { KeyService } from './engine/keys.js';
import type { Config } from './config.js';
import { silentLogger } from './logger.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

export interface LocalAdmin {
  keys: KeyService;
  auditor: Auditor;
  /** Runs `work` as the local administrator (`cli:<user>` in the audit log). */
  run<T>(work: () => T): T;
  close(): void;
}

export function openLocalAdmin(config: Config, user: string): LocalAdmin {
  const store = new SqliteStore(config.store.path);
  const callers = new CallerContext();
  const auditor = new Auditor({
    store: store.audit,
    callers,
    logger: silentLogger,
    retentionMs: config.audit.retention,
  });
  const keys = new KeyService({ store: store.keys, logger: silentLogger, auditor });
  const caller: Caller = { keyId: 'cli', keyName: `cli:${user}`, tenant: '', admin: true, address: 'local' };
  return {
    keys,
    auditor,
    run: (work) => callers.run(caller, work),
    close: () => store.close(),
  };
}
