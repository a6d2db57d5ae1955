/**
 * One sandbox: its status and lifecycle actions, then tabs for the terminal, processes, files, metrics, snapshots
 * and info.
 */
import type { Sandbox } from '@burrow/sdk';
import { SandboxNotFoundError } from '@burrow/sdk';
import { useApi } from '../api/context.js';
import type { Feature } from '../api/features.js';
import { StatusBadge } from '../sandboxes/sandbox-table.js';
import { ErrorMessage } from '../ui/errors.js';
import { formatExpiry } from '../ui/format.js';
import { sandboxHref, type SandboxTab } from '../ui/route.js';
import { Tabs } from '../ui/tabs.js';
import { usePoll } from '../ui/use-poll.js';
import { Actions } from './actions.js';
import { FilesPanel } from './files-panel.js';
import { InfoPanel } from './info-panel.js';
import { MetricsPanel } from './metrics-panel.js';
import { ProcessesPanel } from './processes-panel.js';
import { SnapshotsPanel } from './snapshots-panel.js';
import { TerminalPanel } from './terminal-panel.js';

/** Tabs in order; processes only when the server offers them (feature `processes`). */
const TABS: { id: SandboxTab; label: string; feature?: Feature }[] = [
  { id: 'terminal', label: 'Terminal' },
  { id: 'processes', label: 'Processes', feature: 'processes' },
  { id: 'files', label: 'Files' },
  { id: 'metrics', label: 'Metrics' },
  { id: 'snapshots', label: 'Snapshots' },
  { id: 'info', label: 'Info' },
];

export function SandboxPage({ id, tab }: { id: string; tab: SandboxTab }) {
  const { burrow, features } = useApi();
  const polled = usePoll<Sandbox>(() => burrow.get(id), 3000, [id]);
  const sandbox = polled.data;
  if (sandbox === undefined || sandbox.id !== id) {
    if (polled.error instanceof SandboxNotFoundError)
      return (
        <>
          <h1>Sandbox {id}</h1>
          <ErrorMessage error={polled.error} />
          <p>
            <a href="#/">Back to the list</a>
          </p>
        </>
      );
    return (
      <>
        <h1>Sandbox {id}</h1>
        {polled.error === undefined ? <p>Loading…</p> : <ErrorMessage error={polled.error} />}
      </>
    );
  }
  const info = sandbox.info;
  const running = info.status === 'running';
  return (
    <>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="#/">Sandboxes</a> <span aria-hidden="true">/</span> <span class="mono">{id}</span>
      </nav>
      <div class="sandbox-head">
        <h1 class="mono">{id}</h1>
        <StatusBadge status={info.status} />
        <span class="muted">
          {info.image} · expires {formatExpiry(info.expiresAt, Date.now())}
        </span>
      </div>
      {info.error === undefined ? null : (
        <p class="error" role="status">
          {info.error}
        </p>
      )}
      <ErrorMessage error={polled.error} context="refreshing" />
      <Actions sandbox={sandbox} onChanged={polled.refresh} />
      <Tabs
        label="Sandbox views"
        current={tab}
        tabs={TABS.filter((item) => item.feature === undefined || features.has(item.feature)).map((item) => ({
          id: item.id,
          label: item.label,
          href: sandboxHref(id, item.id),
        }))}
      >
        {tab === 'terminal' ? <TerminalPanel sandbox={sandbox} running={running} /> : null}
        {tab === 'processes' && features.has('processes') ? (
          <ProcessesPanel sandbox={sandbox} running={running} />
        ) : null}
        {tab === 'files' ? <FilesPanel sandbox={sandbox} running={running} /> : null}
        {tab === 'metrics' ? <MetricsPanel sandbox={sandbox} running={running} /> : null}
        {tab === 'snapshots' ? <SnapshotsPanel sandbox={sandbox} /> : null}
        {tab === 'info' ? <InfoPanel sandbox={sandbox} running={running} /> : null}
      </Tabs>
    </>
  );
}
