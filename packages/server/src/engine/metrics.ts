/** What the engine counts, for the metrics endpoint; the engine knows this interface, not the exposition format. */
export type CreateSource = 'create' | 'restore' | 'fork';

export interface EngineMetrics {
  sandboxCreated(source: CreateSource): void;
  sandboxCreateFailed(source: CreateSource): void;
  sandboxDestroyed(reason: 'request' | 'expired'): void;
  /** A finished exec (`sync`, with its duration) or a started exec stream. */
  exec(kind: 'sync' | 'stream', seconds?: number): void;
  /** Bytes written into (`in`) or read out of (`out`) sandboxes through the file API. */
  fileBytes(direction: 'in' | 'out', bytes: number): void;
  /** A create that the warm pool could serve (`hit`) or not (`miss`, only when a pool is configured). */
  warmPool(result: 'hit' | 'miss'): void;
}

export const NO_METRICS: EngineMetrics = {
  sandboxCreated: () => undefined,
  sandboxCreateFailed: () => undefined,
  sandboxDestroyed: () => undefined,
  exec: () => undefined,
  fileBytes: () => undefined,
  warmPool: () => undefined,
};
