/**
 * The API key of this browser tab: kept in sessionStorage (gone when the tab closes, never shared with other
 * tabs, never in a cookie or URL), and sent by the SDK on every request.
 */
const KEY = 'burrow.apiKey';

export interface KeyStore {
  get(): string | undefined;
  set(key: string): void;
  clear(): void;
}

export function sessionKeyStore(storage: Storage = sessionStorage): KeyStore {
  return {
    get: () => storage.getItem(KEY) ?? undefined,
    set: (key) => storage.setItem(KEY, key),
    clear: () => storage.removeItem(KEY),
  };
}
