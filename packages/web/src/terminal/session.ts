/**
 * A terminal session: what the screen sends goes to `input`, what the sandbox prints comes out through `Screen`.
 * Line mode (below, over the exec WebSocket) is what every server offers; a PTY session (feature `pty`: raw
 * keystrokes, resize) implements the same interface when the server has PTY routes.
 */
export interface Screen {
  write(text: string): void;
  clear(): void;
}

export interface TerminalSession {
  input(data: string): void;
  resize?(cols: number, rows: number): void;
  dispose(): void;
}
