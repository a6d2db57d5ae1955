/** A WebSocket client for tests of streams with both JSON text frames and binary frames. */
import type WebSocket from 'ws';

export type Frame = { binary: Buffer } | { json: Record<string, unknown> };

export interface Refusal {
  status: number;
  body: Record<string, unknown>;
}

export class WsReader {
  readonly frames: Frame[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Set when the server refused the upgrade with an HTTP response. */
  readonly refused: Promise<Refusal>;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.wake();
      }),
    );
    this.refused = new Promise((resolve) =>
      socket.once('unexpected-response', (_request, response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      }),
    );
    socket.on('message', (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      this.frames.push(
        isBinary
          ? { binary: bytes }
          : { json: JSON.parse(bytes.toString('utf8')) as Record<string, unknown> },
      );
      this.wake();
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  get json(): Record<string, unknown>[] {
    return this.frames.flatMap((frame) => ('json' in frame ? [frame.json] : []));
  }

  /** Every binary frame's bytes, joined. */
  get binary(): string {
    return Buffer.concat(
      this.frames.flatMap((frame) => ('binary' in frame ? [frame.binary] : [])),
    ).toString();
  }

  /** The text of every stdout message, joined. */
  text(type = 'stdout'): string {
    return this.json
      .filter((message) => message.type === type)
      .map((message) => String(message.data))
      .join('');
  }

  /** Resolves once `predicate` holds (checked after each frame), or fails after `timeoutMs`. */
  async until(predicate: (reader: WsReader) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (Date.now() > deadline)
        throw new Error(`timed out; frames: ${JSON.stringify(this.frames.slice(-20))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  sendJson(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  sendBinary(data: string | Buffer): void {
    this.socket.send(Buffer.from(data), { binary: true });
  }
}
