/**
 * Lifecycle actions of one sandbox: stop, start, pause and resume (feature `pause`), fork into a new sandbox and go
 * there (feature `fork`), extend the lifetime, destroy (with a confirming second press).
 */
import type { Sandbox } from '@burrow/sdk';
import { useState } from 'preact/hooks';
import { useApi } from '../api/context.js';
import { ErrorMessage } from '../ui/errors.js';
import { navigate, sandboxHref } from '../ui/route.js';

export function Actions({ sandbox, onChanged }: { sandbox: Sandbox; onChanged(): void }) {
  const { features } = useApi();
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [confirmDestroy, setConfirmDestroy] = useState(false);
  const [extendBy, setExtendBy] = useState('3600');
  const status = sandbox.info.status;

  const run = async (name: string, work: () => Promise<unknown>) => {
    setBusy(name);
    setError(undefined);
    try {
      await work();
      onChanged();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(undefined);
    }
  };

  /** A lifecycle button: disabled while any action runs, saying what it does meanwhile. */
  const action = (name: string, label: string, busyLabel: string, work: () => Promise<unknown>) => (
    <button
      type="button"
      class="secondary"
      disabled={busy !== undefined}
      onClick={() => void run(name, work)}
    >
      {busy === name ? busyLabel : label}
    </button>
  );

  const destroy = () => {
    if (!confirmDestroy) {
      setConfirmDestroy(true);
      return;
    }
    setConfirmDestroy(false);
    void run('destroy', async () => {
      await sandbox.destroy();
      navigate('#/');
    });
  };

  return (
    <div class="actions-bar">
      <div class="toolbar">
        {status === 'running' || status === 'creating' || status === 'paused'
          ? action('stop', 'Stop', 'Stopping…', () => sandbox.stop())
          : null}
        {status === 'running' && features.has('pause')
          ? action('pause', 'Pause', 'Pausing…', () => sandbox.pause())
          : null}
        {status === 'paused' && features.has('pause')
          ? action('resume', 'Resume', 'Resuming…', () => sandbox.resume())
          : null}
        {status === 'running' && features.has('fork')
          ? action('fork', 'Fork', 'Forking…', async () => {
              const [copy] = await sandbox.fork(1);
              if (copy !== undefined) navigate(sandboxHref(copy.id));
            })
          : null}
        {status !== 'running' && status !== 'paused' && features.has('start')
          ? action('start', 'Start', 'Starting…', () => sandbox.start())
          : null}
        {features.has('extendTimeout') ? (
          <form
            class="inline"
            onSubmit={(event) => {
              event.preventDefault();
              void run('extend', () => sandbox.setTimeout(Number(extendBy)));
            }}
          >
            <label for="extend-seconds">Expire in (seconds)</label>
            <input
              id="extend-seconds"
              type="number"
              min={1}
              value={extendBy}
              onInput={(event) => setExtendBy(event.currentTarget.value)}
            />
            <button type="submit" class="secondary" disabled={busy !== undefined}>
              {busy === 'extend' ? 'Extending…' : 'Set lifetime'}
            </button>
          </form>
        ) : null}
        <span class="spacer" />
        <button
          type="button"
          class="danger"
          disabled={busy !== undefined}
          onClick={destroy}
          onBlur={() => setConfirmDestroy(false)}
        >
          {busy === 'destroy' ? 'Destroying…' : confirmDestroy ? 'Confirm: destroy' : 'Destroy'}
        </button>
      </div>
      <ErrorMessage error={error} />
    </div>
  );
}
