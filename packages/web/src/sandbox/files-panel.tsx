/**
 * The file browser: list a folder, open text files, upload by drag and drop (or the picker) with progress, download,
 * make folders, delete. Transfers go through the SDK (the API key travels as a header, never in a link).
 */
import type { FileInfo, Sandbox } from '@burrow/sdk';
import { useState } from 'preact/hooks';
import { ErrorMessage } from '../ui/errors.js';
import { formatBytes, formatTime } from '../ui/format.js';
import { usePoll } from '../ui/use-poll.js';
import { childPath, parentPath, saveBytes } from './file-helpers.js';
import { Uploads, type Upload } from './uploads.js';

const PREVIEW_LIMIT = 1024 * 1024;

export function FilesPanel({ sandbox, running }: { sandbox: Sandbox; running: boolean }) {
  const [path, setPath] = useState('/home/sandbox');
  const [typed, setTyped] = useState(path);
  const [folder, setFolder] = useState('');
  const [preview, setPreview] = useState<{ path: string; text: string | undefined } | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const list = usePoll<FileInfo[]>(
    async () => (running ? sortEntries(await sandbox.files.list(path)) : []),
    5000,
    [sandbox.id, path, running],
  );

  const go = (next: string) => {
    setPath(next);
    setTyped(next);
    setPreview(undefined);
  };
  const act = async (work: () => Promise<void>) => {
    setError(undefined);
    try {
      await work();
    } catch (failure) {
      setError(failure);
    }
    list.refresh();
  };
  const open = (entry: FileInfo) =>
    act(async () => {
      if (entry.size > PREVIEW_LIMIT) {
        setPreview({ path: entry.path, text: undefined });
        return;
      }
      const bytes = await sandbox.files.read(entry.path);
      let text: string | undefined;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        text = undefined;
      }
      setPreview({ path: entry.path, text });
    });
  const upload = (files: File[]) => {
    for (const file of files) {
      const target = childPath(path, file.name);
      const update = (change: Partial<Upload>) =>
        setUploads((current) =>
          current.map((item) => (item.target === target ? { ...item, ...change } : item)),
        );
      setUploads((current) => [
        ...current.filter((item) => item.target !== target),
        { target, name: file.name, sent: 0, total: file.size, done: false, error: undefined },
      ]);
      sandbox.files
        .write(target, file, { onProgress: (sent) => update({ sent }) })
        .then(
          () => update({ sent: file.size, done: true }),
          (failure: unknown) => update({ error: failure }),
        )
        .finally(() => list.refresh());
    }
  };

  if (!running) return <p class="empty">The sandbox is not running: start it to browse its files.</p>;
  return (
    <section aria-labelledby="files-title">
      <h2 id="files-title">Files</h2>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          go(typed.trim() || '/');
        }}
      >
        <label for="files-path">Folder</label>
        <input
          id="files-path"
          class="mono grow"
          value={typed}
          onInput={(event) => setTyped(event.currentTarget.value)}
        />
        <button type="submit" class="secondary">
          Open
        </button>
        <button type="button" class="secondary" disabled={path === '/'} onClick={() => go(parentPath(path))}>
          Up
        </button>
      </form>
      <Uploads path={path} uploads={uploads} onFiles={upload} />
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          const name = folder.trim();
          if (name === '') return;
          void act(async () => {
            await sandbox.files.mkdir(childPath(path, name));
            setFolder('');
          });
        }}
      >
        <label for="new-folder">New folder</label>
        <input id="new-folder" value={folder} onInput={(event) => setFolder(event.currentTarget.value)} />
        <button type="submit" class="secondary">
          Create folder
        </button>
      </form>
      <ErrorMessage error={error ?? list.error} />
      <table class="plain files" aria-label={`Contents of ${path}`}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Size</th>
            <th scope="col">Mode</th>
            <th scope="col">Modified</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((entry) => (
            <tr key={entry.path}>
              <td>
                <button
                  type="button"
                  class="link mono"
                  onClick={() => (entry.isDir ? go(entry.path) : void open(entry))}
                >
                  {entry.name}
                  {entry.isDir ? '/' : ''}
                </button>
              </td>
              <td>{entry.isDir ? '–' : formatBytes(entry.size)}</td>
              <td class="mono">{entry.mode}</td>
              <td>{formatTime(entry.modTime)}</td>
              <td class="row-actions">
                {entry.isDir ? null : (
                  <button
                    type="button"
                    class="secondary"
                    aria-label={`Download ${entry.name}`}
                    onClick={() =>
                      void act(async () => saveBytes(await sandbox.files.read(entry.path), entry.name))
                    }
                  >
                    Download
                  </button>
                )}
                <button
                  type="button"
                  class="danger"
                  aria-label={`Delete ${entry.name}`}
                  onClick={() => void act(() => sandbox.files.remove(entry.path))}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.length === 0 ? <p class="empty">This folder is empty.</p> : null}
      {preview === undefined ? null : (
        <section class="preview" aria-labelledby="preview-title">
          <h3 id="preview-title" class="mono">
            {preview.path}
          </h3>
          {preview.text === undefined ? (
            <p class="muted">Not shown: a binary file or over 1 MiB. Download it instead.</p>
          ) : (
            <pre tabIndex={0} aria-label={`Contents of ${preview.path}`}>
              {preview.text}
            </pre>
          )}
        </section>
      )}
    </section>
  );
}

function sortEntries(entries: FileInfo[]): FileInfo[] {
  return entries.sort((a, b) => Number(b.isDir) - Number(a.isDir) || a.name.localeCompare(b.name));
}
