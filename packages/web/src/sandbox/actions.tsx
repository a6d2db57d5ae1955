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
        {status === 'running' || status === 'creating' || status === 'paused' ? (
          <button
            type="button"
            class="secondary"
            disabled={busy !== undefined}
            onClick={() => void run('stop', () => sandbox.stop())}
          >
            {busy === 'stop' ? 'Stopping…' : 'Stop'}
          </button>
        ) : null}
        {status === 'running' && features.has('pause') ? (
          <button
            type="button"
            class="secondary"
            disabled={busy !== undefined}
            onClick={() => void run('pause', () => sandbox.pause())}
          >
            {busy === 'pause' ? 'Pausing…' : 'Pause'}
          </button>
        ) : null}
        {status === 'paused' && features.has('pause') ? (
          <button
            type="button"
            class="secondary"
            disabled={busy !== undefined}
            onClick={() => void run('resume', () => sandbox.resume())}
          >
            {busy === 'resume' ? 'Resuming…' : 'Resume'}
          </button>
        ) : null}
        {status === 'running' && features.has('fork') ? (
          <button
            type="button"
            class="secondary"
            disabled={busy !== undefined}
            onClick={() =>
              void run('fork', async () => {
                const [copy] = await sandbox.fork(1);
                if (copy !== undefined) navigate(sandboxHref(copy.id));
              })
            }
          >
            {busy === 'fork' ? 'Forking…' : 'Fork'}
          </button>
        ) : null}
        {status !== 'running' && status !== 'paused' && features.has('start') ? (
          <button
            type="button"
            class="secondary"
            disabled={busy !== undefined}
            onClick={() => void run('start', () => sandbox.start())}
          >
            {busy === 'start' ? 'Starting…' : 'Start'}
          </button>
        ) : null}
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
