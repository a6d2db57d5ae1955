/**
 * Everything the server says about a sandbox, as a definition list, and (feature `preview_urls`) a link that opens
 * one of its ports in the browser.
 */
import type { Sandbox } from '@burrow/sdk';
import { useState } from 'preact/hooks';
import { useApi } from '../api/context.js';
import { ErrorMessage } from '../ui/errors.js';
import { formatTime } from '../ui/format.js';

/** Asks the server for a port's preview URL (with its scoped token when auth is on) and shows it as a link. */
function PreviewLink({ sandbox }: { sandbox: Sandbox }) {
  const [port, setPort] = useState('8000');
  const [url, setUrl] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  return (
    <section aria-labelledby="preview-title">
      <h2 id="preview-title">Preview a port</h2>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setBusy(true);
          setError(undefined);
          setUrl(undefined);
          sandbox
            .previewUrl(Number(port))
            .then(setUrl, setError)
            .finally(() => setBusy(false));
        }}
      >
        <label for="preview-port">Port</label>
        <input
          id="preview-port"
          type="number"
          min={1}
          max={65535}
          value={port}
          onInput={(event) => setPort(event.currentTarget.value)}
        />
        <button type="submit" class="secondary" disabled={busy}>
          {busy ? 'Asking…' : 'Get preview link'}
        </button>
      </form>
      <ErrorMessage error={error} />
      {url === undefined ? null : (
        <p>
          <a href={url} target="_blank" rel="noopener noreferrer" data-testid="preview-link">
            Open port {port} of {sandbox.id}
          </a>{' '}
          <span class="muted">
            (the link carries a token scoped to this port; the first visit turns it into a cookie)
          </span>
        </p>
      )}
    </section>
  );
}

export function InfoPanel({ sandbox, running }: { sandbox: Sandbox; running: boolean }) {
  const { features } = useApi();
  const info = sandbox.info;
  const rows: [string, string][] = [
    ['Id', info.id],
    ['Image', info.image],
    ['Status', info.status],
    ['Created', formatTime(info.createdAt)],
    ['Expires', info.expiresAt === null ? 'never' : formatTime(info.expiresAt)],
    ['Network mode', info.networkMode ?? '–'],
    ['Address', info.ip ?? '–'],
    ['Ports', info.ports.map((port) => `${port.sandboxPort} → 127.0.0.1:${port.hostPort}`).join(', ') || '–'],
    [
      'Labels',
      Object.entries(info.labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(', ') || '–',
    ],
  ];
  if (info.exitCode !== undefined) rows.push(['Exit code', String(info.exitCode)]);
  if (info.error !== undefined) rows.push(['Error', info.error]);
  return (
    <>
      <dl class="info">
        {rows.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd class={term === 'Id' || term === 'Image' ? 'mono' : undefined}>{value}</dd>
          </div>
        ))}
      </dl>
      {running && features.has('preview') ? <PreviewLink sandbox={sandbox} /> : null}
    </>
  );
}
