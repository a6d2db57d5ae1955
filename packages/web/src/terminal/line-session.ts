/**
 * Line mode over the exec WebSocket: each submitted line runs as `sh -c` in the sandbox (the working directory
 * carries over), its output is printed as it streams, lines typed while it runs go to its stdin, Ctrl-C sends it
 * SIGINT and Ctrl-D closes its stdin. No TTY: full-screen programs do not work here.
 */
import type { CommandStream, Sandbox } from '@burrow/sdk';
import { LineEditor } from './line-editor.js';
import type { Screen, TerminalSession } from './session.js';
import { CwdMarkerFilter, SHELL_SCRIPT } from './shell-marker.js';

/** Terminals need CR LF; command output has bare LFs. */
const toScreen = (text: string) => text.replace(/\r?\n/g, '\r\n');

export class LineSession implements TerminalSession {
  readonly #sandbox: Sandbox;
  readonly #screen: Screen;
  readonly #editor = new LineEditor();
  #cwd: string | undefined;
  #running: CommandStream | undefined;
  #disposed = false;

  constructor(sandbox: Sandbox, screen: Screen) {
    this.#sandbox = sandbox;
    this.#screen = screen;
    screen.write('\x1b[90mLine mode: each line runs with sh -c; cd carries over. No TTY.\x1b[0m\r\n');
    this.#prompt();
  }

  /** The prompt, followed by anything typed ahead while the last command ran. */
  #prompt(): void {
    if (!this.#disposed) this.#screen.write(`\x1b[1;32m${this.#cwd ?? ''}\x1b[0m$ ${this.#editor.buffer}`);
  }

  input(data: string): void {
    for (const effect of this.#editor.feed(data)) {
      if (effect.type === 'echo') this.#screen.write(effect.text);
      else if (effect.type === 'clear-screen') this.#screen.clear();
      else if (effect.type === 'submit') this.#submit(effect.line);
      else if (effect.type === 'interrupt') {
        if (this.#running !== undefined) this.#running.kill('SIGINT');
        else this.#prompt();
      } else if (effect.type === 'eof') this.#running?.stdin.end();
    }
  }

  #submit(line: string): void {
    const running = this.#running;
    if (running !== undefined) {
      try {
        running.stdin.write(`${line}\n`);
      } catch {
        // stdin was closed (Ctrl-D): the line goes nowhere, as in a terminal
      }
      return;
    }
    if (line.trim() === '') {
      this.#prompt();
      return;
    }
    void this.#run(line);
  }

  async #run(line: string): Promise<void> {
    const filter = new CwdMarkerFilter();
    let exitCode = 0;
    try {
      const proc = await this.#sandbox.commands.stream(['sh', '-c', SHELL_SCRIPT], {
        env: { BURROW_SHELL_LINE: line },
        stdin: true,
        ...(this.#cwd === undefined ? {} : { cwd: this.#cwd }),
      });
      this.#running = proc;
      for await (const event of proc) {
        if (this.#disposed) break;
        if (event.type === 'stdout') this.#screen.write(toScreen(event.data));
        else if (event.type === 'stderr') this.#screen.write(toScreen(filter.feed(event.data)));
        else exitCode = event.exitCode;
      }
      const { cwd, rest } = filter.finish();
      if (rest !== '') this.#screen.write(toScreen(rest));
      this.#cwd = cwd ?? this.#cwd;
      if (exitCode !== 0) this.#screen.write(`\x1b[90m[exit ${exitCode}]\x1b[0m\r\n`);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const message = error instanceof Error ? error.message : String(error);
      this.#screen.write(`\x1b[31m${typeof code === 'string' ? `${code}: ` : ''}${message}\x1b[0m\r\n`);
    } finally {
      this.#running = undefined;
    }
    this.#prompt();
  }

  dispose(): void {
    this.#disposed = true;
    this.#running?.close();
  }
}
