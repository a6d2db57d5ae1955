/** Writing to stdout/stderr with backpressure, tolerating a reader that went away (`burrow ... | head`). */

/** Writes `data`, waiting for the stream to drain when its buffer is full; a closed pipe ends the wait. */
export function writeOut(stream: NodeJS.WriteStream, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) {
      resolve();
      return;
    }
    const ok = stream.write(data, () => undefined);
    if (ok) {
      resolve();
      return;
    }
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/** A closed stdout pipe (EPIPE) must not crash the CLI with an unhandled 'error' event. */
export function ignoreBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
}
