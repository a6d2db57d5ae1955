/** Snapshots of one sandbox: take one, restore one into a new sandbox (and go there), delete one. */
import type { Sandbox, SnapshotInfo } from '@burrow/sdk';
import { useState } from 'preact/hooks';
import { useApi } from '../api/context.js';
import { ErrorMessage } from '../ui/errors.js';
import { formatBytes, formatTime } from '../ui/format.js';
import { navigate, sandboxHref } from '../ui/route.js';
import { usePoll } from '../ui/use-poll.js';

export function SnapshotsPanel({ sandbox }: { sandbox: Sandbox }) {
  const { burrow } = useApi();
  const list = usePoll<SnapshotInfo[]>(() => sandbox.snapshots.list(), 10_000, [sandbox.id]);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [notice, setNotice] = useState('');

  const run = async (what: string, work: () => Promise<void>) => {
    setBusy(what);
    setError(undefined);
    try {
      await work();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(undefined);
      list.refresh();
    }
  };

  return (
    <section aria-labelledby="snapshots-title">
      <h2 id="snapshots-title">Snapshots</h2>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          void run('create', async () => {
            const snapshot = await sandbox.snapshots.create(name.trim());
            setName('');
            setNotice(`Snapshot ${snapshot.name} taken (${formatBytes(snapshot.size)}).`);
          });
        }}
      >
        <label for="snapshot-name">Snapshot name</label>
        <input
          id="snapshot-name"
          value={name}
          placeholder="optional"
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <button type="submit" disabled={busy !== undefined}>
          {busy === 'create' ? 'Taking snapshot…' : 'Take snapshot'}
        </button>
      </form>
      <p class="muted" role="status">
        {notice}
      </p>
      <ErrorMessage error={error ?? list.error} />
      {list.data === undefined ? (
        <p>Loading…</p>
      ) : list.data.length === 0 ? (
        <p class="empty">No snapshots yet.</p>
      ) : (
        <table class="plain" aria-label="Snapshots">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Taken</th>
              <th scope="col">Size</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((snapshot) => (
              <tr key={snapshot.id}>
                <td>{snapshot.name}</td>
                <td class="mono">{snapshot.id}</td>
                <td>{formatTime(snapshot.createdAt)}</td>
                <td>{formatBytes(snapshot.size)}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    class="secondary"
                    disabled={busy !== undefined}
                    aria-label={`Restore ${snapshot.name}`}
                    onClick={() =>
                      void run(`restore ${snapshot.id}`, async () => {
                        const restored = await burrow.snapshots.restore(snapshot.id);
                        navigate(sandboxHref(restored.id));
                      })
                    }
                  >
                    {busy === `restore ${snapshot.id}` ? 'Restoring…' : 'Restore'}
                  </button>
                  <button
                    type="button"
                    class="danger"
                    disabled={busy !== undefined}
                    aria-label={`Delete ${snapshot.name}`}
                    onClick={() =>
                      void run(`delete ${snapshot.id}`, () => burrow.snapshots.delete(snapshot.id))
                    }
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
