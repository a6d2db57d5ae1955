/** Hash routes (the server serves only `/`, so every view lives after the `#`): list, create form, one sandbox. */
import { useEffect, useState } from 'preact/hooks';

export const SANDBOX_TABS = ['terminal', 'processes', 'files', 'metrics', 'snapshots', 'info'] as const;
export type SandboxTab = (typeof SANDBOX_TABS)[number];

export type Route = { view: 'list' } | { view: 'create' } | { view: 'sandbox'; id: string; tab: SandboxTab };

export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((part) => part !== '');
  if (parts[0] === 'new') return { view: 'create' };
  if (parts[0] === 'sandboxes' && parts[1] !== undefined) {
    const tab = SANDBOX_TABS.find((name) => name === parts[2]) ?? 'terminal';
    return { view: 'sandbox', id: decodeURIComponent(parts[1]), tab };
  }
  return { view: 'list' };
}

export function sandboxHref(id: string, tab?: SandboxTab): string {
  return `#/sandboxes/${encodeURIComponent(id)}${tab === undefined ? '' : `/${tab}`}`;
}

export function navigate(href: string): void {
  location.hash = href;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
