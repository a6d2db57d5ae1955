/**
 * The sandbox table: fixed-height rows, only those in view (plus a margin) in the DOM, so 500 sandboxes scroll as
 * smoothly as 5. Sortable columns (buttons in the headers, `aria-sort`), a checkbox per row for bulk actions.
 */
import type { Sandbox, SandboxStats } from '@burrow/sdk';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { useApi } from '../api/context.js';
import { formatAge, formatBytes, formatExpiry, formatPercent } from '../ui/format.js';
import { sandboxHref } from '../ui/route.js';
import { visibleWindow, type Sort, type SortKey } from './list-model.js';

export const ROW_HEIGHT = 44;

export interface SandboxTableProps {
  rows: Sandbox[];
  stats: ReadonlyMap<string, SandboxStats>;
  selected: ReadonlySet<string>;
  onSelect(ids: string[], selected: boolean): void;
  sort: Sort;
  onSort(key: SortKey): void;
  /** Ids now in view (for fetching their stats). */
  onVisible(ids: string[]): void;
  now: number;
}

const COLUMNS: { key: SortKey | undefined; label: string }[] = [
  { key: 'id', label: 'Sandbox' },
  { key: 'status', label: 'Status' },
  { key: 'image', label: 'Image · runtime' },
  { key: 'created', label: 'Age' },
  { key: 'expires', label: 'Expires' },
  { key: undefined, label: 'CPU' },
  { key: undefined, label: 'Memory' },
  { key: undefined, label: 'Labels' },
];

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

export function SandboxTable(props: SandboxTableProps) {
  const { rows, stats, selected, sort, now } = props;
  const { features } = useApi();
  const scroller = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element === null) return;
    const measure = () => setView({ top: element.scrollTop, height: element.clientHeight || 600 });
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const window = visibleWindow(rows.length, ROW_HEIGHT, view.top, view.height);
  const shown = rows.slice(window.start, window.end);
  const shownIds = shown.map((row) => row.id).join(',');
  useLayoutEffect(() => props.onVisible(shownIds === '' ? [] : shownIds.split(',')), [shownIds]);
  const allSelected = rows.length > 0 && rows.every((row) => selected.has(row.id));
  return (
    <div
      class="table-scroll"
      ref={scroller}
      onScroll={(event) =>
        setView({ top: event.currentTarget.scrollTop, height: event.currentTarget.clientHeight })
      }
    >
      <table class="sandboxes" aria-rowcount={rows.length + 1} aria-label="Sandboxes">
        <thead>
          <tr aria-rowindex={1}>
            <th scope="col" class="select">
              <input
                type="checkbox"
                aria-label="Select all shown sandboxes"
                checked={allSelected}
                onChange={(event) =>
                  props.onSelect(
                    rows.map((row) => row.id),
                    event.currentTarget.checked,
                  )
                }
              />
            </th>
            {COLUMNS.map((column) => (
              <th
                scope="col"
                key={column.label}
                aria-sort={
                  column.key !== undefined && column.key === sort.key
                    ? sort.descending
                      ? 'descending'
                      : 'ascending'
                    : undefined
                }
              >
                {column.key === undefined ? (
                  column.label
                ) : (
                  <button type="button" class="sort" onClick={() => props.onSort(column.key as SortKey)}>
                    {column.label}
                    <span aria-hidden="true">
                      {column.key === sort.key ? (sort.descending ? ' ▼' : ' ▲') : ''}
                    </span>
                  </button>
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {window.padTop > 0 ? (
            <tr aria-hidden="true" class="pad" style={{ height: `${window.padTop}px` }} />
          ) : null}
          {shown.map((sandbox, index) => {
            const info = sandbox.info;
            // A list leaves out the default runtime (runc); a server without runtime choice says nothing of it.
            const runtime = features.has('runtime') ? (info.runtime ?? 'runc') : undefined;
            const usage = stats.get(info.id);
            return (
              <tr key={info.id} aria-rowindex={window.start + index + 2} data-id={info.id}>
                <td class="select">
                  <input
                    type="checkbox"
                    aria-label={`Select ${info.id}`}
                    checked={selected.has(info.id)}
                    onChange={(event) => props.onSelect([info.id], event.currentTarget.checked)}
                  />
                </td>
                <td class="mono">
                  <a href={sandboxHref(info.id)}>{info.id}</a>
                </td>
                <td>
                  <StatusBadge status={info.status} />
                </td>
                <td
                  class="mono ellipsis"
                  title={runtime === undefined ? info.image : `${info.image} on ${runtime}`}
                >
                  {info.image}
                  {runtime === undefined ? null : <span class="runtime"> · {runtime}</span>}
                </td>
                <td>{formatAge(info.createdAt, now)}</td>
                <td>{formatExpiry(info.expiresAt, now)}</td>
                <td>{usage === undefined ? '–' : formatPercent(usage.cpuPercent)}</td>
                <td>{usage === undefined ? '–' : formatBytes(usage.memoryUsage)}</td>
                <td class="ellipsis labels">
                  {Object.entries(info.labels).map(([key, value]) => (
                    <span class="label" key={key}>
                      {key}={value}
                    </span>
                  ))}
                </td>
              </tr>
            );
          })}
          {window.padBottom > 0 ? (
            <tr aria-hidden="true" class="pad" style={{ height: `${window.padBottom}px` }} />
          ) : null}
        </tbody>
      </table>
      {rows.length === 0 ? <p class="empty">No sandboxes match.</p> : null}
    </div>
  );
}
