/** The upload area: drop files on it or pick them; each upload shows its progress, then done or its error. */
import { useState } from 'preact/hooks';
import { ErrorMessage } from '../ui/errors.js';
import { formatBytes } from '../ui/format.js';

export interface Upload {
  target: string;
  name: string;
  sent: number;
  total: number;
  done: boolean;
  error: unknown;
}

export interface UploadsProps {
  path: string;
  uploads: Upload[];
  onFiles(files: File[]): void;
}

export function Uploads({ path, uploads, onFiles }: UploadsProps) {
  const [over, setOver] = useState(false);
  return (
    <div
      class={`drop${over ? ' over' : ''}`}
      onDragOver={(event) => {
        event.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(event) => {
        event.preventDefault();
        setOver(false);
        onFiles([...(event.dataTransfer?.files ?? [])]);
      }}
    >
      <p>
        Drop files here to upload them to <span class="mono">{path}</span>, or choose them:{' '}
        <label for="upload-input" class="visually-hidden">
          Files to upload
        </label>
        <input
          id="upload-input"
          type="file"
          multiple
          onChange={(event) => {
            onFiles([...(event.currentTarget.files ?? [])]);
            event.currentTarget.value = '';
          }}
        />
      </p>
      {uploads.length === 0 ? null : (
        <ul class="uploads" aria-label="Uploads">
          {uploads.map((upload) => (
            <li key={upload.target}>
              <span class="mono">{upload.name}</span>{' '}
              <progress
                max={upload.total || 1}
                value={upload.total === 0 && upload.done ? 1 : upload.sent}
                aria-label={`Upload of ${upload.name}`}
              />{' '}
              <span class="muted">
                {upload.error !== undefined
                  ? 'failed'
                  : upload.done
                    ? `done, ${formatBytes(upload.total)}`
                    : `${formatBytes(upload.sent)} of ${formatBytes(upload.total)}`}
              </span>
              <ErrorMessage error={upload.error} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
