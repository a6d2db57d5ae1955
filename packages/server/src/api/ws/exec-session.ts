/**
 * One exec over a WebSocket, in Den's protocol: the client's first message is the exec request; the server sends
 * `stdout`/`stderr` text frames, then `exit` (the code as a decimal string) once, or a terminal `error` frame with
 * a `code`. Burrow's extensions, which Den clients never send: `stdin: true` in the request, then `stdin`,
 * `stdin_close` and `signal` messages; `pty: {cols, rows}` in the request runs the command on a terminal, whose
 * output then comes as binary frames (raw bytes), takes binary frames as raw stdin and `resize` messages. Every
 * ending is a close frame (1000 after exit, 1008 after a client error, 1011 after a server error), and a client
 * that goes away takes its process with it.
 */
import {
  BurrowError,
  ExecStreamClientMessage,
  isBurrowError,
  type ExecStreamServerMessage,
} from '@burrow/protocol';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket, type RawData } from 'ws';
import type { Engine } from '../../engine/engine.js';
import type { ExecStream } from '../../runtime/runtime.js';
import { ptyFromWire } from '../command-fields.js';
import { streamExecOptions } from '../routes/exec.js';
import { signalName } from '../signals.js';
import { frameBytes, frameText, send } from './ws-kit.js';

/** Above this many unsent bytes, reading the process's output waits until the client catches up. */
const SEND_HIGH_WATER_BYTES = 1024 * 1024;
/** Above this many bytes of stdin not yet handed to the process, the socket stops reading. */
const STDIN_HIGH_WATER_BYTES = 1024 * 1024;
/**
 * Largest `data` of one output frame, in UTF-16 units: Den's frames carry at most 4096 bytes, and common clients
 * refuse big messages (Python's websockets: 1 MiB), so big chunks go out in pieces (even fully escaped, < 1 MiB).
 */
export const MAX_FRAME_TEXT = 32 * 1024;
const MAX_EARLY_MESSAGES = 1000;
const FIRST_MESSAGE_TIMEOUT_MS = 30_000;
const HEARTBEAT_MS = 30_000;

type State = 'waiting' | 'starting' | 'running' | 'closed';

/** Splits text into pieces of at most `max` UTF-16 units without cutting a surrogate pair. */
export function splitText(text: string, max: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  while (text.length - start > max) {
    let end = start + max;
    const last = text.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end -= 1;
    pieces.push(text.slice(start, end));
    start = end;
  }
  pieces.push(text.slice(start));
  return pieces;
}

interface Early {
  data: RawData;
  binary: boolean;
}

/**
 * Den answers every failure to start the process (sandbox missing, not running, engine error) with `failed to
 * start command`; Burrow's message starts with that text and says why after a colon, keeping its own code.
 */
function startFailure(error: unknown): unknown {
  if (!isBurrowError(error) || error.code === 'INTERNAL') return error;
  return new BurrowError(error.code, `failed to start command: ${error.message}`, error.details, {
    cause: error,
  });
}

export interface ExecSessionOptions {
  socket: WebSocket;
  sandboxId: string;
  engine: Engine;
  log: FastifyBaseLogger;
  firstMessageTimeoutMs?: number;
  /** How often the client is pinged; a client that did not answer the last ping is cut off. */
  heartbeatMs?: number;
}

export class ExecSession {
  private state: State = 'waiting';
  private stream: ExecStream | undefined;
  private readonly early: Early[] = [];
  /** The command runs on a terminal: output goes out as binary frames, binary frames are stdin. */
  private pty = false;
  private earlyBytes = 0;
  private stdinOpen = false;
  private stdinChain: Promise<void> = Promise.resolve();
  private stdinPendingBytes = 0;
  private readonly decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  private readonly timers: NodeJS.Timeout[] = [];
  private alive = true;

  constructor(private readonly options: ExecSessionOptions) {}

  private get socket(): WebSocket {
    return this.options.socket;
  }

  start(): void {
    this.socket.on('message', (data, binary) => this.onMessage(data, binary));
    this.socket.on('close', () => this.onClose());
    this.socket.on('pong', () => (this.alive = true));
    const firstMessage = setTimeout(
      () =>
        this.fail(
          new BurrowError(
            'BAD_REQUEST',
            'invalid request: no exec request arrived: send it as the first message',
          ),
        ),
      this.options.firstMessageTimeoutMs ?? FIRST_MESSAGE_TIMEOUT_MS,
    );
    // A client that vanished without closing (no FIN) is found by its missing pong, and its process killed.
    const heartbeat = setInterval(() => {
      if (!this.alive) {
        this.socket.terminate();
        return;
      }
      this.alive = false;
      this.socket.ping();
    }, this.options.heartbeatMs ?? HEARTBEAT_MS);
    heartbeat.unref();
    this.timers.push(firstMessage, heartbeat);
  }

  private onMessage(data: RawData, binary: boolean): void {
    if (this.state === 'waiting') {
      this.state = 'starting';
      clearTimeout(this.timers[0]);
      void this.begin(data);
    } else if (this.state === 'starting') {
      // The SDK writes stdin right after the request: keep it until the process runs, reading no more than
      // a bounded amount meanwhile.
      this.early.push({ data, binary });
      this.earlyBytes += frameBytes(data).length;
      if (this.earlyBytes > STDIN_HIGH_WATER_BYTES || this.early.length > MAX_EARLY_MESSAGES)
        this.socket.pause();
    } else if (this.state === 'running') {
      this.control(data, binary);
    }
  }

  private async begin(data: RawData): Promise<void> {
    let stream: ExecStream;
    try {
      let message: unknown;
      try {
        message = JSON.parse(frameText(data));
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new BurrowError(
          'BAD_REQUEST',
          `invalid request: the first message must be a JSON exec request (${reason})`,
        );
      }
      const execOptions = streamExecOptions(message);
      this.stdinOpen = execOptions.openStdin === true;
      this.pty = execOptions.pty !== undefined;
      stream = await this.options.engine
        .execStream(this.options.sandboxId, execOptions)
        .catch((error: unknown) => {
          throw startFailure(error);
        });
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.state === 'closed') {
      void stream.close();
      return;
    }
    this.stream = stream;
    this.state = 'running';
    for (const message of this.early.splice(0)) this.control(message.data, message.binary);
    if (this.socket.isPaused && this.stdinPendingBytes <= STDIN_HIGH_WATER_BYTES) this.socket.resume();
    await this.pump(stream);
  }

  private async pump(stream: ExecStream): Promise<void> {
    try {
      for await (const event of stream) {
        if (this.state === 'closed') return;
        if (event.type === 'exit') {
          for (const type of ['stdout', 'stderr'] as const)
            await this.output(type, this.decoders[type].decode());
          const exit: ExecStreamServerMessage = { type: 'exit', data: String(event.exitCode) };
          if (event.timedOut) exit.timed_out = true;
          await this.send(exit);
          this.close(1000, 'exit');
          return;
        }
        if (this.pty) await send(this.socket, event.data, true);
        else await this.output(event.type, this.decoders[event.type].decode(event.data, { stream: true }));
      }
      throw new BurrowError('INTERNAL', 'the command output ended without an exit status');
    } catch (error) {
      this.fail(error);
    }
  }

  private async output(type: 'stdout' | 'stderr', chunk: string): Promise<void> {
    if (chunk === '') return;
    for (const data of splitText(chunk, MAX_FRAME_TEXT)) await this.send({ type, data });
  }

  /** Handles a client message after the process started; anything unrecognised is ignored, as Den ignores it. */
  private control(data: RawData, binary: boolean): void {
    const stream = this.stream;
    if (binary && this.pty) {
      // Keystrokes, as raw bytes.
      const bytes = frameBytes(data);
      if (stream !== undefined && this.stdinOpen && bytes.length > 0)
        this.queueStdin(bytes.length, () => stream.stdin.write(bytes));
      return;
    }
    let message: ExecStreamClientMessage;
    try {
      message = ExecStreamClientMessage.parse(JSON.parse(frameText(data)));
    } catch {
      this.options.log.debug(
        { sandbox: this.options.sandboxId },
        'ignored an unrecognised exec stream message',
      );
      return;
    }
    if (stream === undefined) return;
    if (message.type === 'signal') {
      const name = signalName(message.signal);
      if (name === undefined) {
        this.options.log.debug({ signal: message.signal }, 'ignored an unknown signal name');
        return;
      }
      stream
        .kill(name)
        .catch((error: unknown) => this.options.log.debug({ err: error }, 'signal not delivered'));
      return;
    }
    if (message.type === 'resize') {
      const size = { cols: message.cols, rows: message.rows };
      void Promise.resolve()
        .then(() => stream.resize(ptyFromWire(size, 'resize')))
        .catch((error: unknown) => this.options.log.debug({ err: error }, 'resize not applied'));
      return;
    }
    if (!this.stdinOpen) return;
    if (message.type === 'stdin_close') {
      this.stdinOpen = false;
      this.queueStdin(0, () => stream.stdin.end());
    } else {
      const bytes = Buffer.from(message.data, 'utf8');
      this.queueStdin(bytes.length, () => stream.stdin.write(bytes));
    }
  }

  /** Stdin writes run in order; while too much is queued the socket stops reading (TCP pushes back). */
  private queueStdin(bytes: number, write: () => Promise<void>): void {
    this.stdinPendingBytes += bytes;
    if (this.stdinPendingBytes > STDIN_HIGH_WATER_BYTES) this.socket.pause();
    this.stdinChain = this.stdinChain
      .then(write)
      .catch((error: unknown) =>
        this.options.log.debug({ err: error }, 'stdin write failed (the process may have exited)'),
      )
      .finally(() => {
        this.stdinPendingBytes -= bytes;
        if (this.stdinPendingBytes <= STDIN_HIGH_WATER_BYTES && this.socket.isPaused) this.socket.resume();
      });
  }

  /** Sends a frame; waits for it to be flushed when the client is reading slowly. */
  private send(message: ExecStreamServerMessage): Promise<void> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.send(JSON.stringify(message), () => resolve());
      if (this.socket.bufferedAmount < SEND_HIGH_WATER_BYTES) resolve();
    });
  }

  private fail(error: unknown): void {
    if (this.state === 'closed') return;
    let failure: BurrowError;
    if (isBurrowError(error)) {
      failure = error;
    } else {
      this.options.log.error({ err: error, sandbox: this.options.sandboxId }, 'exec stream failed');
      failure = new BurrowError('INTERNAL', 'internal error');
    }
    void this.send({ type: 'error', data: failure.message, code: failure.code });
    this.close(failure.status >= 500 ? 1011 : 1008, failure.code);
  }

  private close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cleanup();
    // The close handshake needs the client's close frame read.
    if (this.socket.isPaused) this.socket.resume();
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close(code, reason);
  }

  private onClose(): void {
    this.state = 'closed';
    this.cleanup();
  }

  private cleanup(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.length = 0;
    const stream = this.stream;
    this.stream = undefined;
    // Kills the process if it still runs; after its exit this only releases the stream.
    if (stream !== undefined) void stream.close().catch(() => undefined);
  }
}
