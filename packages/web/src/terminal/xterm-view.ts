/**
 * The xterm.js screen, loaded on demand (its own chunk, not in the initial bundle). xterm writes some of its CSS
 * into `<style>` elements at run time, which the dashboard's CSP (no inline styles) blocks; `mirrorStyles` copies
 * each one into a constructed stylesheet, which the CSP allows, so the terminal renders fully without
 * 'unsafe-inline'.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';

export interface TerminalView {
  write(text: string): void;
  clear(): void;
  focus(): void;
  onData(listener: (data: string) => void): void;
  onResize(listener: (cols: number, rows: number) => void): void;
  dispose(): void;
}

/** Mirrors every `<style>` element under `root` into `document.adoptedStyleSheets`, following its changes. */
export function mirrorStyles(root: HTMLElement): () => void {
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>();
  const mirrored = new WeakSet<CSSStyleSheet>();
  const sync = () => {
    for (const [element, sheet] of sheets) {
      if (!root.contains(element)) sheets.delete(element);
      else sheet.replaceSync(element.textContent ?? '');
    }
    for (const element of root.querySelectorAll('style')) {
      if (sheets.has(element)) continue;
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(element.textContent ?? '');
      sheets.set(element, sheet);
    }
    const ours = new Set(sheets.values());
    const others = document.adoptedStyleSheets.filter((sheet) => !mirrored.has(sheet));
    for (const sheet of ours) mirrored.add(sheet);
    document.adoptedStyleSheets = [...others, ...ours];
  };
  const observer = new MutationObserver(sync);
  observer.observe(root, { childList: true, subtree: true, characterData: true });
  sync();
  return () => {
    observer.disconnect();
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((sheet) => !mirrored.has(sheet));
  };
}

export function createTerminalView(container: HTMLElement, label: string): TerminalView {
  const unmirror = mirrorStyles(container);
  const terminal = new Terminal({
    convertEol: false,
    cursorBlink: true,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
    screenReaderMode: true,
    theme: { background: '#14161a', foreground: '#e6e6e6' },
  });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(container);
  terminal.textarea?.setAttribute('aria-label', label);
  // Tab belongs to the terminal; Escape then Tab (or Shift-Tab) moves focus on, so the keyboard is never trapped.
  let escaped = false;
  terminal.attachCustomKeyEventHandler((event) => {
    if (event.type !== 'keydown') return true;
    if (event.key === 'Tab' && escaped) return false;
    escaped = event.key === 'Escape';
    return true;
  });
  const refit = () => {
    if (container.clientWidth > 0) fit.fit();
  };
  refit();
  const observer = new ResizeObserver(refit);
  observer.observe(container);
  return {
    write: (text) => terminal.write(text),
    clear: () => terminal.clear(),
    focus: () => terminal.focus(),
    onData: (listener) => void terminal.onData(listener),
    onResize: (listener) => void terminal.onResize(({ cols, rows }) => listener(cols, rows)),
    dispose: () => {
      observer.disconnect();
      terminal.dispose();
      unmirror();
    },
  };
}
