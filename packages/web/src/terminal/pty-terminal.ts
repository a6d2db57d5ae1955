/**
 * A terminal on a PTY (feature `pty`): the image's login shell on a pseudo-terminal of the screen's size, keystrokes
 * passed as they are (Tab completion, Ctrl-C, full-screen programs), output as the shell writes it, and the
 * terminal resized with the screen. The shell is one of the sandbox's background processes (it would outlive a
 * dropped connection); closing the tab kills it.
 */
import type { PtySession, Sandbox } from '@burrow/sdk';
import type { Screen, TerminalSession } from './session.js';

export interface TerminalSize {
  cols: number;
  rows: number;
}

export class PtyTerminal implements TerminalSession {
  readonly #decoder = new TextDecoder();
  #session: PtySession | undefined;
  /** Keystrokes typed before the shell was there. */
  #pending: string[] = [];
  #size: TerminalSize;
  #disposed = false;

  constructor(sandbox: Sandbox, screen: Screen, size: TerminalSize, onError: (error: unknown) => void) {
    this.#size = size;
    sandbox.pty
      .create({
        cols: size.cols,
        rows: size.rows,
        onData: (bytes) => screen.write(this.#decoder.decode(bytes, { stream: true })),
      })
      .then((session) => {
        if (this.#disposed) {
          void session.kill().catch(() => undefined);
          session.disconnect();
          return;
        }
        this.#session = session;
        // The screen may have been fitted again while the shell started.
        if (this.#size.cols !== size.cols || this.#size.rows !== size.rows) session.resize(this.#size);
        for (const data of this.#pending) session.write(data);
        this.#pending = [];
        void session.wait().then(
          ({ exitCode }) => {
            if (!this.#disposed) screen.write(`\r\n\x1b[90m[the shell exited with ${exitCode}]\x1b[0m\r\n`);
          },
          () => undefined,
        );
      })
      .catch(onError);
  }

  input(data: string): void {
    if (this.#session === undefined) this.#pending.push(data);
    else this.#session.write(data);
  }

  resize(cols: number, rows: number): void {
    this.#size = { cols, rows };
    this.#session?.resize(this.#size);
  }

  dispose(): void {
    this.#disposed = true;
    const session = this.#session;
    if (session === undefined) return;
    void session.kill().catch(() => undefined);
    session.disconnect();
  }
}
