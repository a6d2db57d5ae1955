/**
 * Boot-time reconciliation of the store with the runtime: live sandboxes are re-adopted with their stored
 * configuration, dead ones marked, half-created ones cleaned up, and sandboxes the runtime holds but the store
 * does not know (Burrow's own, by label) removed. Snapshot records without their image are dropped.
 */
import type { Logger } from '../logger.js';
import type { Runtime, SandboxInfo } from '../runtime/runtime.js';
import type { SandboxStore } from '../store/store.js';

export interface ReconcileReport {
  adopted: string[];
  marked: string[];
  removedOrphans: string[];
  removedHalfCreated: string[];
  droppedSnapshots: string[];
}

export interface ReconcileOptions {
  /** Sandboxes the runtime holds that belong to someone else in this process (the warm pool). */
  isForeign?: (info: SandboxInfo) => boolean;
}

export async function reconcile(
  runtime: Runtime,
  store: SandboxStore,
  logger: Logger,
  options: ReconcileOptions = {},
): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    adopted: [],
    marked: [],
    removedOrphans: [],
    removedHalfCreated: [],
    droppedSnapshots: [],
  };
  const live = new Map((await runtime.list()).map((info) => [info.id, info]));

  for (const record of store.listSandboxes()) {
    const info = live.get(record.id);
    live.delete(record.id);
    // The server died between reserving the slot and starting the sandbox, or while giving a warm-pool member
    // (still marked as one) the request's limits.
    if (record.status === 'creating' && (info?.status !== 'running' || info.pool !== undefined)) {
      await runtime.remove(record.id);
      store.deleteSandbox(record.id);
      report.removedHalfCreated.push(record.id);
      continue;
    }
    if (info === undefined) {
      store.updateSandbox({ ...record, status: 'error', error: "the sandbox's container is gone" });
      report.marked.push(record.id);
      continue;
    }
    // A paused sandbox stays paused (its processes are frozen, not gone), keeping when it was paused.
    const next = { ...record, status: info.status === 'creating' ? ('stopped' as const) : info.status };
    if (info.status === 'error' && info.error !== undefined) next.error = info.error;
    else delete next.error;
    if (next.status !== 'paused') delete next.pausedAt;
    else next.pausedAt ??= new Date();
    store.updateSandbox(next);
    (next.status === 'running' || next.status === 'paused' ? report.adopted : report.marked).push(record.id);
  }

  for (const info of live.values()) {
    if (options.isForeign?.(info) === true) continue;
    await runtime.remove(info.id);
    report.removedOrphans.push(info.id);
  }

  const images = new Set((await runtime.listSnapshots()).map((snapshot) => snapshot.id));
  const recorded = new Set<string>();
  for (const snapshot of store.listSnapshots()) {
    recorded.add(snapshot.id);
    if (!images.has(snapshot.id)) {
      store.deleteSnapshot(snapshot.id);
      report.droppedSnapshots.push(snapshot.id);
    }
  }
  // A crash between taking a snapshot and recording it leaves an image nobody can name: remove it.
  for (const id of images) {
    if (!recorded.has(id)) {
      await runtime.removeSnapshot(id);
      report.droppedSnapshots.push(id);
    }
  }
  logger.info({ ...report }, 'reconciled sandboxes with the runtime');
  return report;
}
