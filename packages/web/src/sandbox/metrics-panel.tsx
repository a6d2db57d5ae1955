/** CPU, memory, network and process charts over time, from the sandbox's stats polled every two seconds. */
import type { Sandbox, SandboxStats } from '@burrow/sdk';
import { useEffect, useState } from 'preact/hooks';
import { ErrorMessage } from '../ui/errors.js';
import { formatBytes, formatPercent } from '../ui/format.js';
import { usePoll } from '../ui/use-poll.js';
import { Chart } from './chart.js';

const POLL_MS = 2000;
/** Ten minutes of samples. */
const MAX_POINTS = 300;

export interface History {
  times: number[];
  cpu: number[];
  memory: number[];
  rx: (number | null)[];
  tx: (number | null)[];
  pids: number[];
  last: SandboxStats | undefined;
}

export const EMPTY_HISTORY: History = {
  times: [],
  cpu: [],
  memory: [],
  rx: [],
  tx: [],
  pids: [],
  last: undefined,
};

/** Adds a sample; network counters become rates (bytes a second) against the previous sample. */
export function addSample(history: History, stats: SandboxStats): History {
  const time = stats.timestamp.getTime() / 1000;
  const previous = history.last;
  if (previous !== undefined && previous.timestamp.getTime() >= stats.timestamp.getTime()) return history;
  const seconds = previous === undefined ? 0 : time - previous.timestamp.getTime() / 1000;
  const rate = (now: number, before: number | undefined) =>
    before === undefined || seconds <= 0 || now < before ? null : (now - before) / seconds;
  const keep = <T,>(values: T[], value: T) => [...values, value].slice(-MAX_POINTS);
  return {
    times: keep(history.times, time),
    cpu: keep(history.cpu, stats.cpuPercent),
    memory: keep(history.memory, stats.memoryUsage),
    rx: keep(history.rx, rate(stats.networkRx, previous?.networkRx)),
    tx: keep(history.tx, rate(stats.networkTx, previous?.networkTx)),
    pids: keep(history.pids, stats.pidCount),
    last: stats,
  };
}

export function MetricsPanel({ sandbox, running }: { sandbox: Sandbox; running: boolean }) {
  const [history, setHistory] = useState<History>(EMPTY_HISTORY);
  const polled = usePoll<SandboxStats | undefined>(
    async () => (running ? sandbox.stats() : undefined),
    POLL_MS,
    [sandbox.id, running],
  );
  useEffect(() => {
    const stats = polled.data;
    if (stats !== undefined) setHistory((current) => addSample(current, stats));
  }, [polled.data]);
  useEffect(() => setHistory(EMPTY_HISTORY), [sandbox.id]);

  if (!running && history.times.length === 0)
    return <p class="empty">The sandbox is not running: no metrics.</p>;
  const last = history.last;
  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics</h2>
      <ErrorMessage error={polled.error} context="stats" />
      {last === undefined ? null : (
        <p class="muted">
          Now: CPU {formatPercent(last.cpuPercent)} · memory {formatBytes(last.memoryUsage)} of{' '}
          {formatBytes(last.memoryLimit)} · {last.pidCount} processes
        </p>
      )}
      <div class="charts">
        <Chart
          id="cpu"
          title="CPU (% of one core)"
          times={history.times}
          series={[{ label: 'CPU', color: '#2f6fdb', values: history.cpu }]}
          format={formatPercent}
        />
        <Chart
          id="memory"
          title="Memory"
          times={history.times}
          series={[{ label: 'used', color: '#8a4bd6', values: history.memory }]}
          floor={1024 * 1024}
          format={formatBytes}
        />
        <Chart
          id="network"
          title="Network (per second)"
          times={history.times}
          series={[
            { label: 'received', color: '#16804a', values: history.rx },
            { label: 'sent', color: '#c2410c', values: history.tx },
          ]}
          format={(value) => `${formatBytes(value)}/s`}
          floor={1024}
        />
        <Chart
          id="pids"
          title="Processes"
          times={history.times}
          series={[{ label: 'processes', color: '#0e7490', values: history.pids }]}
          format={(value) => String(Math.round(value))}
        />
      </div>
    </section>
  );
}
