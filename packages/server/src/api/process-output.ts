/**
 * What a process's replay buffer holds right now, read through an attachment with replay. The stream has no
 * "replay done" mark, so reading stops at the exit, after a quiet spell (the replay arrives at once; a process
 * still printing keeps it going), or at an overall deadline; each stream keeps only its last `maxBytes`.
 */
import type { ProcessAttachment, ProcessEvent } from '../runtime/runtime.js';

/** No event for this long after the last one: the replay is over. */
export const OUTPUT_QUIET_MS = 150;
/** A process printing without pause is read for at most this long. */
export const OUTPUT_DEADLINE_MS = 2000;

export interface CollectedOutput {
  stdout: Buffer;
  stderr: Buffer;
  /** Earlier output is missing (lost from the buffer, or cut to `maxBytes`). */
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  exited: boolean;
}

/** The last `limit` bytes of a stream. */
class Tail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(data: Buffer): void {
    this.chunks.push(data);
    this.bytes += data.length;
    while (this.bytes > this.limit) {
      const first = this.chunks[0];
      if (first === undefined) break;
      const excess = this.bytes - this.limit;
      this.truncated = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.bytes -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.bytes -= excess;
      }
    }
  }

  value(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export interface CollectOptions {
  maxBytes: number;
  quietMs?: number;
  deadlineMs?: number;
}

export async function collectOutput(
  attachment: ProcessAttachment,
  options: CollectOptions,
): Promise<CollectedOutput> {
  const tails = { stdout: new Tail(options.maxBytes), stderr: new Tail(options.maxBytes) };
  const quietMs = options.quietMs ?? OUTPUT_QUIET_MS;
  const deadline = Date.now() + (options.deadlineMs ?? OUTPUT_DEADLINE_MS);
  const iterator = attachment[Symbol.asyncIterator]();
  let exited = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const wait = Math.min(quietMs, deadline - Date.now());
      if (wait <= 0) break;
      const pending = iterator.next();
      // Left pending when the quiet spell wins; closing the attachment may then reject it, harmlessly.
      pending.catch(() => undefined);
      const next = await Promise.race([
        pending,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), wait))),
      ]);
      clearTimeout(timer);
      if (next === undefined || next.done === true) break;
      const event: ProcessEvent = next.value;
      if (event.type === 'exit') {
        exited = true;
        break;
      }
      if (event.type === 'dropped') tails[event.stream].truncated = true;
      else tails[event.type].push(event.data);
    }
  } finally {
    clearTimeout(timer);
    await attachment.close();
  }
  const dropped = attachment.info.outputDropped;
  return {
    stdout: tails.stdout.value(),
    stderr: tails.stderr.value(),
    stdoutTruncated: tails.stdout.truncated || dropped.stdout > 0,
    stderrTruncated: tails.stderr.truncated || dropped.stderr > 0,
    exited,
  };
}
