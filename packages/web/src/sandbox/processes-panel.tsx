/**
 * Background processes of one sandbox (feature `processes`): the list (polled), each one's output (attached with
 * replay, so what it printed before shows too, then live), and kill. The panel keeps only the last 64 KiB of the
 * output it shows.
 */
import type { ProcessInfo, Sandbox } from '@burrow/sdk';
import { useEffect, useState } from 'preact/hooks';
import { ErrorMessage } from '../ui/errors.js';
import { formatTime } from '../ui/format.js';
import { usePoll } from '../ui/use-poll.js';

const SHOWN_OUTPUT_CHARS = 64 * 1024;

function state(process: ProcessInfo): string {
  if (process.running) return 'running';
  return process.timedOut ? `timed out (${process.exitCode ?? '?'})` : `exited ${process.exitCode ?? '?'}`;
}

/** The output of one process, attached while shown. */
function ProcessOutput({ sandbox, process }: { sandbox: Sandbox; process: ProcessInfo }) {
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    const decoder = new TextDecoder();
    const add = (piece: string) => setText((shown) => (shown + piece).slice(-SHOWN_OUTPUT_CHARS));
    setText('');
    sandbox.processes
      .attach(process.id, {
        replay: true,
        signal: controller.signal,
        onEvent: (event) => {
          if (event.type === 'stdout' || event.type === 'stderr') add(event.data);
          else if (event.type === 'pty') add(decoder.decode(event.data, { stream: true }));
        },
      })
      .then((attachment) => attachment.wait())
      .catch((failure: unknown) => {
        if (!controller.signal.aborted) setError(failure);
      });
    return () => controller.abort();
  }, [sandbox.id, process.id]);
  return (
    <section aria-label={`Output of process ${process.id}`}>
      <ErrorMessage error={error} context="attaching to the process" />
      {/* Focusable: a region that scrolls must be reachable from the keyboard. */}
      <pre class="output" data-testid="process-output" tabIndex={0} aria-label={`Output of ${process.id}`}>
        {text}
      </pre>
    </section>
  );
}

export function ProcessesPanel({ sandbox, running }: { sandbox: Sandbox; running: boolean }) {
  const list = usePoll<ProcessInfo[]>(() => sandbox.processes.list(), 2000, [sandbox.id]);
  const [shown, setShown] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  const kill = async (id: string) => {
    setBusy(id);
    setError(undefined);
    try {
      await sandbox.processes.kill(id);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(undefined);
      list.refresh();
    }
  };

  if (!running) return <p class="empty">The sandbox is not running: start it to see its processes.</p>;
  const processes = list.data;
  const selected = processes?.find((process) => process.id === shown);
  return (
    <section aria-labelledby="processes-title">
      <h2 id="processes-title">Processes</h2>
      <ErrorMessage error={error ?? list.error} />
      {processes === undefined ? (
        <p>Loading…</p>
      ) : processes.length === 0 ? (
        <p class="empty">No background processes (start one with the SDK, the CLI or the API).</p>
      ) : (
        <table class="plain" aria-label="Processes">
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Tag</th>
              <th scope="col">Command</th>
              <th scope="col">State</th>
              <th scope="col">Started</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {processes.map((process) => (
              <tr key={process.id}>
                <td class="mono">{process.id}</td>
                <td>{process.tag ?? '–'}</td>
                <td class="mono">{process.cmd.join(' ')}</td>
                <td>{state(process)}</td>
                <td>{formatTime(process.startedAt)}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="secondary"
                    aria-pressed={shown === process.id}
                    aria-label={`Output of ${process.tag ?? process.id}`}
                    onClick={() => setShown(shown === process.id ? undefined : process.id)}
                  >
                    Output
                  </button>
                  {process.running ? (
                    <button
                      type="button"
                      class="danger"
                      disabled={busy !== undefined}
                      aria-label={`Kill ${process.tag ?? process.id}`}
                      onClick={() => void kill(process.id)}
                    >
                      {busy === process.id ? 'Killing…' : 'Kill'}
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected === undefined ? null : <ProcessOutput sandbox={sandbox} process={selected} />}
    </section>
  );
}
