/** Everything the server says about a sandbox, as a definition list. */
import type { SandboxInfo } from '@burrow/sdk';
import { formatTime } from '../ui/format.js';

export function InfoPanel({ info }: { info: SandboxInfo }) {
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
    <dl class="info">
      {rows.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd class={term === 'Id' || term === 'Image' ? 'mono' : undefined}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
