/**
 * One reader of a background process over a WebSocket. The server sends `{"type":"process"}` first, then the
 * output (from now, or replayed from the process's buffer first): JSON `stdout`/`stderr` text frames, or binary
 * frames (raw bytes) for a process on a terminal; `dropped` when this reader lost bytes; `exit` last, then close
 * 1000. The client may send binary frames (raw stdin) and JSON `stdin`, `stdin_close`, `signal` and `resize`
 * messages, which become runtime calls in the order sent; one that cannot be applied is answered with a
 * `refused` message and the stream goes on. Closing the socket detaches: the process keeps running.
 */
import { AttachClientMessage, BurrowError, isBurrowError, type AttachServerMessage } from '@burrow/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { SandboxProcesses } from '../../engine/processes.js';
import type { ProcessAttachment } from '../../runtime/runtime.js';
import { ptyFromWire } from '../command-fields.js';
import { inputFromWire, processToWire } from '../process-wire.js';
import { requireSignal } from '../signals.js';
import { MAX_FRAME_TEXT, splitText } from './exec-session.js';
import {
  closeSocket,
  failSocket,
  frameBytes,
  frameText,
  send,
  sendJson,
  startHeartbeat,
  streamFailure,
} from './ws-kit.js';

/** Above this many bytes of input not yet handed to the process, the socket stops reading. */
const INPUT_HIGH_WATER_BYTES = 1024 * 1024;

type Operation =
  | { kind: 'input'; data: Buffer; eof: boolean }
  | { kind: 'signal'; signal: string }
  | { kind: 'resize'; cols: number; rows: number };

export interface AttachSessionOptions {
  socket: WebSocket;
  sandboxId: string;
  processId: string;
  replay: boolean;
  processes: SandboxProcesses;
  log: FastifyBaseLogger;
}

export class AttachSession {
  private attachment: ProcessAttachment | undefined;
  private closed = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly operations: Operation[] = [];
  private pendingBytes = 0;
  private draining = false;
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

  constructor(private readonly options: AttachSessionOptions) {}

  private get socket(): WebSocket {
    return this.options.socket;
  }

  start(): void {
    this.socket.on('message', (data, binary) => this.onMessage(data, binary));
    this.socket.on('close', () => this.cleanup());
    this.heartbeat = startHeartbeat(this.socket);
    void this.pump();
  }

  private async pump(): Promise<void> {
    const { sandboxId, processId, replay, processes } = this.options;
    try {
      const attachment = await processes.attach(sandboxId, processId, { replay });
      if (this.closed) {
        await attachment.close();
        return;
      }
      this.attachment = attachment;
      const pty = attachment.info.pty;
      await this.json({ type: 'process', process: processToWire(attachment.info) });
      for await (const event of attachment) {
        if (this.closed) return;
        if (event.type === 'exit') {
          for (const type of ['stdout', 'stderr'] as const)
            await this.text(type, this.decoders[type].decode());
          const exit: AttachServerMessage = { type: 'exit', data: String(event.exitCode) };
          if (event.timedOut) exit.timed_out = true;
          await this.json(exit);
          this.close(1000, 'exit');
          return;
        }
        if (event.type === 'dropped') await this.json(event);
        else if (pty) await send(this.socket, event.data, true);
        else await this.text(event.type, this.decoders[event.type].decode(event.data, { stream: true }));
      }
      if (!this.closed)
        throw new BurrowError('INTERNAL', "the process's output ended without an exit status");
    } catch (error) {
      this.fail(error);
    }
  }

  private json(message: AttachServerMessage): Promise<void> {
    return sendJson(this.socket, message);
  }

  private async text(type: 'stdout' | 'stderr', chunk: string): Promise<void> {
    if (chunk === '') return;
    for (const data of splitText(chunk, MAX_FRAME_TEXT)) await this.json({ type, data });
  }

  private onMessage(data: RawData, binary: boolean): void {
    if (this.closed) return;
    if (binary) {
      this.enqueue({ kind: 'input', data: frameBytes(data), eof: false });
      return;
    }
    let message: AttachClientMessage;
    try {
      message = AttachClientMessage.parse(JSON.parse(frameText(data)));
    } catch {
      this.refuse(
        new BurrowError(
          'BAD_REQUEST',
          'unrecognised message: send binary frames (stdin) or JSON {"type": "stdin" | "stdin_close" | "signal" | "resize", ...}',
        ),
      );
      return;
    }
    try {
      if (message.type === 'stdin') this.enqueue({ kind: 'input', data: inputFromWire(message), eof: false });
      else if (message.type === 'stdin_close')
        this.enqueue({ kind: 'input', data: Buffer.alloc(0), eof: true });
      else if (message.type === 'signal')
        this.enqueue({ kind: 'signal', signal: requireSignal(message.signal) });
      else this.enqueue({ kind: 'resize', ...ptyFromWire(message, '') });
    } catch (error) {
      this.refuse(error);
    }
  }

  /** Operations run one at a time in order; consecutive input is sent as one write. */
  private enqueue(operation: Operation): void {
    const last = this.operations.at(-1);
    if (operation.kind === 'input') {
      this.pendingBytes += operation.data.length;
      if (this.pendingBytes > INPUT_HIGH_WATER_BYTES) this.socket.pause();
    }
    if (operation.kind === 'input' && last?.kind === 'input' && !last.eof) {
      last.data = Buffer.concat([last.data, operation.data]);
      last.eof = operation.eof;
    } else {
      this.operations.push(operation);
    }
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    const { sandboxId, processId, processes } = this.options;
    try {
      for (let operation = this.operations.shift(); operation; operation = this.operations.shift()) {
        if (this.closed) return;
        try {
          if (operation.kind === 'input') {
            if (operation.data.length > 0 || operation.eof)
              await processes.input(sandboxId, processId, operation.data, { eof: operation.eof });
          } else if (operation.kind === 'signal') {
            await processes.signal(sandboxId, processId, operation.signal);
          } else {
            await processes.resize(sandboxId, processId, { cols: operation.cols, rows: operation.rows });
          }
        } catch (error) {
          this.refuse(error);
        } finally {
          if (operation.kind === 'input') this.pendingBytes -= operation.data.length;
          if (this.pendingBytes <= INPUT_HIGH_WATER_BYTES && this.socket.isPaused) this.socket.resume();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** A client message that could not be applied: say why, and keep the stream. */
  private refuse(error: unknown): void {
    const failure = streamFailure(error, this.options.log, 'an attach stream message');
    void this.json({ type: 'refused', data: failure.message, code: failure.code });
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    const failure = streamFailure(error, this.options.log, 'attach stream');
    this.closed = true;
    failSocket(this.socket, failure);
    this.cleanup();
  }

  private close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    closeSocket(this.socket, code, reason);
    this.cleanup();
  }

  private cleanup(): void {
    this.closed = true;
    clearInterval(this.heartbeat);
    this.operations.length = 0;
    const attachment = this.attachment;
    this.attachment = undefined;
    // Detaches this reader only; the process runs on.
    if (attachment !== undefined)
      void attachment.close().catch((error: unknown) => {
        if (!isBurrowError(error)) this.options.log.debug({ err: error }, 'detach failed');
      });
  }
}
