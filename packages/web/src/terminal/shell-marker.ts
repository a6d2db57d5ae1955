/**
 * Line mode runs each line as its own command; the working directory carries over through a marker the wrapper
 * prints at the end of stderr, `\x1e<cwd>\x1e` (the same protocol as `burrow shell` in the CLI).
 */
export const MARK = '\x1e';

/** Runs one line with `sh`, then reports `$PWD` (so `cd` persists into the next line). */
export const SHELL_SCRIPT = `eval "$BURROW_SHELL_LINE"; __burrow_rc=$?; printf '${MARK}%s${MARK}' "$PWD" >&2; exit $__burrow_rc`;

/** Passes stderr through and holds back the marker. */
export class CwdMarkerFilter {
  #held = '';

  feed(chunk: string): string {
    const text = this.#held + chunk;
    const index = text.indexOf(MARK);
    if (index < 0) {
      this.#held = '';
      return text;
    }
    this.#held = text.slice(index);
    return text.slice(0, index);
  }

  finish(): { cwd: string | undefined; rest: string } {
    const held = this.#held;
    this.#held = '';
    const end = held.indexOf(MARK, 1);
    if (!held.startsWith(MARK) || end < 0) return { cwd: undefined, rest: held };
    const cwd = held.slice(1, end);
    return { cwd: cwd === '' ? undefined : cwd, rest: held.slice(end + 1) };
  }
}
