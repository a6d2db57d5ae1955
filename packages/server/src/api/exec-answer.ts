/**
 * The answer to a synchronous exec, as the command runs. Up to {@link STREAMED_BODY_BYTES} of stdout is held and the
 * answer is an ordinary JSON object once the command ends. Past that, the answer starts: `200`, then `{"stdout":"`
 * and the output so far, then stdout as it arrives, so the client reads while the command still prints and the
 * server holds no more than the response's buffer. stderr (bounded by the same output limit) follows stdout's end,
 * then `exit_code`, `timed_out` and `truncated`: the same object, its keys in another order.
 *
 * Once started, the status is sent: a failure after that (the sandbox's channel breaks) can only end the body
 * early, which a client sees as a cut transfer and an unparseable body, never as a complete wrong answer.
 */
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { ExecResult } from '../runtime/runtime.js';
import { execResponseBody, JsonStringText, jsonStringPieces, STREAMED_BODY_BYTES } from './exec-body.js';

/** Bytes the response may hold before the answer waits for the client (and the command's output with it). */
const BODY_BUFFER_BYTES = 1024 * 1024;

export class ExecAnswer {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private body: PassThrough | undefined;
  private readonly text = new JsonStringText();

  constructor(private readonly reply: FastifyReply) {}

  /** Whether the answer has started (its status is sent). */
  get started(): boolean {
    return this.body !== undefined;
  }

  /** Takes stdout as it arrives: the exec's `stdoutSink`. */
  readonly stdout = async (data: Buffer): Promise<void> => {
    if (this.body === undefined) {
      this.held.push(data);
      this.heldBytes += data.length;
      if (this.heldBytes <= STREAMED_BODY_BYTES) return;
      this.start();
      const held = this.held;
      this.held = [];
      for (const part of held) await this.write(this.text.write(part));
      return;
    }
    await this.write(this.text.write(data));
  };

  private start(): void {
    const body = new PassThrough({ highWaterMark: BODY_BUFFER_BYTES });
    this.body = body;
    // A client that goes away releases every wait on the body (its exec is killed by the route's disconnect watch).
    this.reply.raw.once('close', () => body.destroy());
    body.write('{"stdout":"');
    void this.reply.type('application/json; charset=utf-8').send(body);
  }

  /** Writes pieces, waiting while the response holds too much (or until the client is gone). */
  private async write(pieces: Iterable<string | Buffer>): Promise<void> {
    const body = this.body;
    if (body === undefined) return;
    for (const piece of pieces) {
      if (body.destroyed) return;
      if (body.write(piece)) continue;
      await new Promise<void>((resolve) => {
        const done = () => {
          body.off('drain', done);
          body.off('close', done);
          resolve();
        };
        body.on('drain', done);
        body.on('close', done);
      });
    }
  }

  /** Ends the answer with the command's result (its `stdout` is what the sink did not take: nothing). */
  async finish(result: ExecResult): Promise<FastifyReply> {
    if (this.body === undefined) {
      const stdout = Buffer.concat(this.held, this.heldBytes);
      return this.reply.type('application/json; charset=utf-8').send(execResponseBody({ ...result, stdout }));
    }
    await this.write(this.text.end());
    await this.write(['","stderr":']);
    await this.write(jsonStringPieces(result.stderr));
    let tail = `,"exit_code":${JSON.stringify(result.exitCode)},"timed_out":${JSON.stringify(result.timedOut)}`;
    if (result.truncated) tail += ',"truncated":true';
    if (!this.body.destroyed) this.body.end(`${tail}}`);
    return this.reply;
  }

  /** Ends a started answer early after a failure (the client sees a cut body). */
  fail(error: Error): void {
    this.body?.destroy(error);
  }
}
