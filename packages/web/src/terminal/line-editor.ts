/**
 * Local line editing for the line-mode terminal (no PTY: the sandbox sees whole lines). Turns what the terminal
 * sends (keystrokes, escape sequences, pastes) into echo for the screen and submitted lines, with history on the
 * arrow keys, Backspace, Ctrl-U (clear line), Ctrl-C (interrupt) and Ctrl-D (end of input).
 */
export type Effect =
  | { type: 'echo'; text: string }
  | { type: 'submit'; line: string }
  | { type: 'interrupt' }
  | { type: 'eof' }
  | { type: 'clear-screen' };

const HISTORY_LIMIT = 200;

export class LineEditor {
  #buffer = '';
  readonly #history: string[] = [];
  #index = 0;

  get buffer(): string {
    return this.#buffer;
  }

  /** The text a terminal shows to replace the current line's input with `next`. */
  #replace(next: string): Effect {
    const erase = '\b \b'.repeat([...this.#buffer].length);
    this.#buffer = next;
    return { type: 'echo', text: erase + next };
  }

  feed(data: string): Effect[] {
    const effects: Effect[] = [];
    let echo = '';
    const flush = () => {
      if (echo !== '') effects.push({ type: 'echo', text: echo });
      echo = '';
    };
    for (let i = 0; i < data.length; i += 1) {
      const char = data[i] as string;
      if (char === '\x1b') {
        // Escape sequences: arrows walk the history; others (function keys, ...) are ignored.
        // eslint-disable-next-line no-control-regex -- matching terminal escape sequences is the point
        const match = /^\x1b(?:\[|O)([0-9;]*)([A-Za-z~])/.exec(data.slice(i));
        const length = match?.[0].length ?? 1;
        i += length - 1;
        const key = match?.[2];
        if (key === 'A' || key === 'B') {
          flush();
          const next =
            key === 'A' ? Math.max(0, this.#index - 1) : Math.min(this.#history.length, this.#index + 1);
          if (next !== this.#index) {
            this.#index = next;
            effects.push(this.#replace(this.#history[next] ?? ''));
          }
        }
      } else if (char === '\r' || char === '\n') {
        if (char === '\n' && data[i - 1] === '\r') continue;
        echo += '\r\n';
        flush();
        const line = this.#buffer;
        this.#buffer = '';
        if (line.trim() !== '' && this.#history.at(-1) !== line) this.#history.push(line);
        if (this.#history.length > HISTORY_LIMIT) this.#history.shift();
        this.#index = this.#history.length;
        effects.push({ type: 'submit', line });
      } else if (char === '\x7f' || char === '\b') {
        if (this.#buffer !== '') {
          this.#buffer = [...this.#buffer].slice(0, -1).join('');
          echo += '\b \b';
        }
      } else if (char === '\x03') {
        echo += '^C\r\n';
        flush();
        this.#buffer = '';
        effects.push({ type: 'interrupt' });
      } else if (char === '\x04') {
        flush();
        if (this.#buffer === '') effects.push({ type: 'eof' });
      } else if (char === '\x15') {
        flush();
        effects.push(this.#replace(''));
      } else if (char === '\x0c') {
        flush();
        effects.push({ type: 'clear-screen' });
      } else if (char === '\t') {
        this.#buffer += '  ';
        echo += '  ';
      } else if (char >= ' ') {
        this.#buffer += char;
        echo += char;
      }
    }
    flush();
    return effects;
  }
}
