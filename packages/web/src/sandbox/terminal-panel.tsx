/**
 * The terminal tab: xterm.js (fetched when the tab is first opened) driving a session: a shell on a PTY when the
 * server offers the `pty` feature (raw keys, resize), else line mode over the exec stream.
 */
import type { Sandbox } from '@burrow/sdk';
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApi } from '../api/context.js';
import { ErrorMessage } from '../ui/errors.js';
import { LineSession } from '../terminal/line-session.js';
import { PtyTerminal } from '../terminal/pty-terminal.js';
import type { TerminalSession } from '../terminal/session.js';

export function TerminalPanel({ sandbox, running }: { sandbox: Sandbox; running: boolean }) {
  const { features } = useApi();
  const pty = features.has('pty');
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [ready, setReady] = useState(false);
  // The session keeps the handle it started with; a refreshed handle of the same sandbox changes nothing.
  const handle = useRef(sandbox);
  handle.current = sandbox;

  useEffect(() => {
    const element = box.current;
    if (element === null || !running) return;
    let disposed = false;
    let cleanup = () => {};
    import('../terminal/xterm-view.js')
      .then(({ createTerminalView }) => {
        if (disposed) return;
        const view = createTerminalView(element, `Terminal of ${sandbox.id}`);
        const session: TerminalSession = pty
          ? new PtyTerminal(handle.current, view, view.size(), setError)
          : new LineSession(handle.current, view);
        view.onData((data) => session.input(data));
        view.onResize((cols, rows) => session.resize?.(cols, rows));
        cleanup = () => {
          session.dispose();
          view.dispose();
        };
        setReady(true);
        view.focus();
      })
      .catch((failure: unknown) => setError(failure));
    return () => {
      disposed = true;
      cleanup();
      setReady(false);
    };
  }, [sandbox.id, running, pty]);

  if (!running) return <p class="empty">The sandbox is not running: start it to use the terminal.</p>;
  return (
    <section aria-labelledby="terminal-title">
      <h2 id="terminal-title">Terminal</h2>
      <ErrorMessage error={error} context="loading the terminal" />
      <div
        class="terminal"
        ref={box}
        data-ready={ready ? 'true' : 'false'}
        data-mode={pty ? 'pty' : 'line'}
      />
      <p class="muted">Press Escape then Tab to move focus out of the terminal.</p>
    </section>
  );
}
