/** The front page: host overview and the live, filterable, sortable sandbox list with bulk destroy. */
import type { Sandbox, SandboxStats } from '@burrow/sdk';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useApi } from '../api/context.js';
import { ErrorMessage } from '../ui/errors.js';
import { usePoll } from '../ui/use-poll.js';
import { filterAndSort, type Filter, type Sort, type SortKey } from './list-model.js';
import { Overview } from './overview.js';
import { SandboxTable } from './sandbox-table.js';

const LIST_POLL_MS = 3000;
const STATS_POLL_MS = 10_000;
/** Stats requests at once: the list must not eat the caller's rate limit. */
const STATS_CONCURRENCY = 4;

async function eachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

export function SandboxesPage() {
  const { burrow } = useApi();
  const list = usePoll<Sandbox[]>(() => burrow.list(), LIST_POLL_MS);
  const [filter, setFilter] = useState<Filter>({ text: '', status: '' });
  const [sort, setSort] = useState<Sort>({ key: 'created', descending: true });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [bulkError, setBulkError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [stats, setStats] = useState<Map<string, SandboxStats>>(new Map());
  const visible = useRef<string[]>([]);
  const latest = useRef<Sandbox[] | undefined>(undefined);
  latest.current = list.data;
  const [now, setNow] = useState(Date.now());

  const rows = useMemo(() => {
    const all = list.data ?? [];
    const byInfo = new Map(all.map((sandbox) => [sandbox.info, sandbox]));
    return filterAndSort(
      all.map((sandbox) => sandbox.info),
      filter,
      sort,
    ).map((info) => byInfo.get(info) as Sandbox);
  }, [list.data, filter, sort]);

  useEffect(() => {
    setNow(Date.now());
    // Forget selections of sandboxes that are gone.
    const ids = new Set((list.data ?? []).map((sandbox) => sandbox.id));
    setSelected((current) => new Set([...current].filter((id) => ids.has(id))));
  }, [list.data]);

  // Stats of the running sandboxes in view only: a few requests every 10 s, however long the list is.
  usePoll(
    async () => {
      const byId = new Map((latest.current ?? []).map((sandbox) => [sandbox.id, sandbox]));
      const targets = visible.current
        .map((id) => byId.get(id))
        .filter((sandbox): sandbox is Sandbox => sandbox?.info.status === 'running');
      const fresh = new Map<string, SandboxStats>();
      await eachLimited(targets, STATS_CONCURRENCY, async (sandbox) => {
        const usage = await sandbox.stats().catch(() => undefined);
        if (usage !== undefined) fresh.set(sandbox.id, usage);
      });
      setStats((current) => new Map([...current, ...fresh]));
    },
    STATS_POLL_MS,
    [list.data === undefined],
  );

  const onSort = (key: SortKey) =>
    setSort((current) => ({
      key,
      descending: current.key === key ? !current.descending : key === 'created',
    }));
  const onSelect = (ids: string[], on: boolean) =>
    setSelected((current) => {
      const next = new Set(current);
      for (const id of ids)
        if (on) next.add(id);
        else next.delete(id);
      return next;
    });

  const destroySelected = async () => {
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setConfirming(false);
    setBusy(true);
    setBulkError(undefined);
    const targets = (list.data ?? []).filter((sandbox) => selected.has(sandbox.id));
    const failures: unknown[] = [];
    await eachLimited(targets, 4, async (sandbox) => {
      await sandbox.destroy().catch((error: unknown) => failures.push(error));
    });
    setBusy(false);
    setSelected(new Set());
    if (failures.length > 0) setBulkError(failures[0]);
    list.refresh();
  };

  return (
    <>
      <h1>Sandboxes</h1>
      <Overview items={list.data?.map((sandbox) => sandbox.info)} />
      <ErrorMessage error={list.error} context="listing sandboxes" />
      <div class="toolbar" role="search">
        <label for="filter-text">Filter</label>
        <input
          id="filter-text"
          type="search"
          placeholder="id, image or label"
          value={filter.text}
          onInput={(event) => setFilter({ ...filter, text: event.currentTarget.value })}
        />
        <label for="filter-status">Status</label>
        <select
          id="filter-status"
          value={filter.status}
          onChange={(event) =>
            setFilter({ ...filter, status: event.currentTarget.value as Filter['status'] })
          }
        >
          <option value="">any</option>
          <option value="running">running</option>
          <option value="creating">creating</option>
          <option value="stopped">stopped</option>
          <option value="error">error</option>
        </select>
        <span class="muted" aria-live="polite">
          {list.data === undefined ? 'loading…' : `${rows.length} of ${list.data.length} shown`}
        </span>
        <span class="spacer" />
        <a class="button" href="#/new">
          New sandbox
        </a>
        <button
          type="button"
          class="danger"
          disabled={selected.size === 0 || busy}
          onClick={() => void destroySelected()}
          onBlur={() => setConfirming(false)}
        >
          {busy
            ? 'Destroying…'
            : confirming
              ? `Confirm: destroy ${selected.size}`
              : `Destroy selected (${selected.size})`}
        </button>
      </div>
      <ErrorMessage error={bulkError} context="destroying" />
      <SandboxTable
        rows={rows}
        stats={stats}
        selected={selected}
        onSelect={onSelect}
        sort={sort}
        onSort={onSort}
        onVisible={(ids) => (visible.current = ids)}
        now={now}
      />
    </>
  );
}
