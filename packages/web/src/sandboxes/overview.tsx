/**
 * Host overview: sandboxes by status (from the list, and the server's own totals from `/api/v1/stats`), host memory
 * and the pressure level, warm pools; live.
 */
import type { Resources, SandboxInfo, SystemStats } from '@burrow/sdk';
import { useApi } from '../api/context.js';
import { ErrorMessage } from '../ui/errors.js';
import { formatBytes, formatPercent } from '../ui/format.js';
import { usePoll } from '../ui/use-poll.js';
import { countByStatus } from './list-model.js';

export function Overview({ items }: { items: SandboxInfo[] | undefined }) {
  const { burrow } = useApi();
  const resources = usePoll<Resources>(() => burrow.resources(), 5000);
  const totals = usePoll<SystemStats>(() => burrow.stats(), 5000);
  const counts = items === undefined ? undefined : countByStatus(items);
  const host = resources.data?.host;
  const pressure = resources.data?.pressure;
  const pool = resources.data?.warmPool;
  return (
    <section aria-labelledby="overview-title" class="overview">
      <h2 id="overview-title" class="visually-hidden">
        Host overview
      </h2>
      <div class="stat-card">
        <h3>Sandboxes</h3>
        <p class="big" data-testid="total-sandboxes">
          {items?.length ?? '…'}
        </p>
        {counts === undefined ? null : (
          <p class="muted">
            {counts.running} running · {counts.stopped} stopped · {counts.error} error
            {counts.paused > 0 ? ` · ${counts.paused} paused` : ''}
            {counts.creating > 0 ? ` · ${counts.creating} creating` : ''}
          </p>
        )}
        {totals.data === undefined ? null : (
          <p class="muted" data-testid="server-totals">
            server totals: {totals.data.total} ({totals.data.running} running, {totals.data.stopped} stopped)
          </p>
        )}
      </div>
      <div class="stat-card">
        <h3 id="host-memory-title">Host memory</h3>
        {host === undefined ? (
          <p class="big">…</p>
        ) : (
          <>
            <p class="big">{formatPercent((host.memoryUsed / host.memoryTotal) * 100)}</p>
            <meter
              aria-labelledby="host-memory-title"
              min={0}
              max={host.memoryTotal}
              value={host.memoryUsed}
              high={host.memoryTotal * 0.8}
            />
            <p class="muted">
              {formatBytes(host.memoryUsed)} of {formatBytes(host.memoryTotal)} · {host.cpuCores} CPU cores
            </p>
          </>
        )}
      </div>
      <div class="stat-card">
        <h3>Memory pressure</h3>
        <p class={`big pressure-${pressure?.level ?? 'unknown'}`}>{pressure?.level ?? '…'}</p>
        {pressure === undefined ? null : (
          <p class="muted">
            {pressure.canCreate ? 'new sandboxes are admitted' : 'new sandboxes are refused'}
          </p>
        )}
      </div>
      <div class="stat-card">
        <h3>Warm pool</h3>
        {pool === undefined ? (
          <p class="big">{resources.data === undefined ? '…' : 'off'}</p>
        ) : (
          <>
            <p class="big">
              {pool.ready}/{pool.target}
            </p>
            <p class="muted">
              {pool.creating} starting{pool.memoryShort ? ' · paused: host memory is short' : ''}
              {pool.pools.map((item) => ` · ${item.image}: ${item.ready}/${item.size}`).join('')}
            </p>
          </>
        )}
      </div>
      <ErrorMessage error={resources.error} context="host resources" />
    </section>
  );
}
