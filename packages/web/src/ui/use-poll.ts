/** A component's live data: polled with backoff while mounted and while the tab is visible. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { Poller } from '../api/poll.js';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** Fetch again now (after an action changed something). */
  refresh(): void;
}

export function usePoll<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[] = []): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const poller = useRef<Poller | undefined>(undefined);
  useEffect(() => {
    let live = true;
    const current = new Poller(
      async () => {
        const value = await load();
        if (!live) return;
        setData(() => value);
        setError(undefined);
      },
      { intervalMs, onError: (failure) => live && setError(failure) },
    );
    poller.current = current;
    const onVisibility = () => (document.hidden ? current.stop() : current.start());
    document.addEventListener('visibilitychange', onVisibility);
    if (!document.hidden) current.start();
    return () => {
      live = false;
      current.stop();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, deps);
  return { data, error, refresh: () => void poller.current?.runNow() };
}
