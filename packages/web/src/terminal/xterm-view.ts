/**
 * The xterm.js screen, loaded on demand (its own chunk, not in the initial bundle). xterm writes some of its CSS
 * into `<style>` elements at run time, which the dashboard's CSP (no inline styles) blocks. So xterm gets a view of
 * the document whose `createElement('style')` makes an inert `<template>` instead (nothing for the CSP to block),
 * and `mirrorStyles` copies each one's text into a constructed stylesheet, which the CSP allows: the terminal
 * renders fully without 'unsafe-inline' and without a single violation.
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
  /** The size the screen was fitted to. */
  size(): { cols: number; rows: number };
  dispose(): void;
}

const MIRRORED = 'data-css-mirror';

type CreateElement = (name: string, options?: ElementCreationOptions) => HTMLElement;

/** `createElement`, except that a `style` element comes out as an inert element marked for `mirrorStyles`. */
function safeCreateElement(target: Document, original: CreateElement): CreateElement {
  return (name, options) => {
    if (name.toLowerCase() !== 'style') return original.call(target, name, options);
    const inert = original.call(target, 'template');
    inert.setAttribute(MIRRORED, '');
    return inert;
  };
}

/** `document` with `safeCreateElement` (xterm creates most of its elements through this). */
function cspSafeDocument(): Document {
  const create = safeCreateElement(document, document.createElement as CreateElement);
  return new Proxy(document, {
    get(target, property) {
      if (property === 'createElement') return create;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Mirrors the CSS text of every marked element under `root` into `document.adoptedStyleSheets`, following changes. */
export function mirrorStyles(root: HTMLElement): () => void {
  const sheets = new Map<Element, CSSStyleSheet>();
  const mirrored = new WeakSet<CSSStyleSheet>();
  const sync = () => {
    for (const [element, sheet] of sheets) {
      if (!root.contains(element)) sheets.delete(element);
      else sheet.replaceSync(element.textContent ?? '');
    }
    for (const element of root.querySelectorAll(`[${MIRRORED}]`)) {
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
    documentOverride: cspSafeDocument(),
  });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  // A few elements are made from the global document while the terminal opens: route those through the same
  // substitution for the duration of this synchronous call only.
  const original = document.createElement as CreateElement;
  document.createElement = safeCreateElement(document, original) as typeof document.createElement;
  try {
    terminal.open(container);
  } finally {
    document.createElement = original as typeof document.createElement;
  }
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
    size: () => ({ cols: terminal.cols, rows: terminal.rows }),
    dispose: () => {
      observer.disconnect();
      terminal.dispose();
      unmirror();
    },
  };
}
