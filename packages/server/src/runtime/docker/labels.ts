/** Labels Burrow puts on everything it creates in Docker, so it can find and reconcile its own resources. */
export const LABEL = {
  managed: 'burrow.managed',
  /** Which Burrow installation (data directory) owns the resource; reconciliation only touches its own. */
  instance: 'burrow.instance',
  id: 'burrow.id',
  created: 'burrow.created',
  version: 'burrow.version',
  config: 'burrow.config',
  snapshot: 'burrow.snapshot',
  snapshotId: 'burrow.snapshot.id',
  snapshotSandbox: 'burrow.snapshot.sandbox_id',
  snapshotName: 'burrow.snapshot.name',
  snapshotCreated: 'burrow.snapshot.created',
  snapshotTmpfs: 'burrow.snapshot.tmpfs',
  networkMode: 'burrow.network.mode',
  /** The image's own user, which the sandbox's processes run as. */
  user: 'burrow.user',
  /** The image's own entrypoint and command (JSON), kept for snapshots whose image config carries the agent's. */
  imageDefaults: 'burrow.image_defaults',
  /**
   * The warm pool an idle member belongs to; empty on every other sandbox. Always set, because a snapshot image
   * inherits its container's labels and a restored sandbox must not look like a pool member.
   */
  pool: 'burrow.pool',
} as const;

export const CONTAINER_PREFIX = 'burrow-';

export function containerName(id: string): string {
  return `${CONTAINER_PREFIX}${id}`;
}

export const MANAGED_FILTER = `${LABEL.managed}=true`;

export function instanceFilter(instance: string): string {
  return `${LABEL.instance}=${instance}`;
}
