/** Exec over HTTP and over the WebSocket stream. */
import { z } from 'zod';
import { PtySize } from './processes.js';
import { int, optional } from './sandbox.js';

/**
 * Longest exec timeout, in seconds (24 h). Every layer below keeps a timeout in milliseconds that must not wrap:
 * the agent's field is a u32 (4,294,967 s at most) and Node's timers fire at once above 2^31-1 ms (~24.8 days).
 * A longer request is refused with a 400 that names this limit; use the WebSocket stream without a timeout (and
 * kill it yourself) for work that runs longer.
 */
export const MAX_EXEC_TIMEOUT_SECONDS = 24 * 3600;

export const ExecRequest = z.object({
  cmd: z.array(z.string()).describe('argv; not a shell string. Use ["sh", "-c", "..."] for shell syntax'),
  env: optional(z.record(z.string(), z.string())),
  workdir: optional(z.string()),
  timeout: optional(int).describe(
    'Seconds (at most 86400); the process is killed at the timeout (exit_code 124, timed_out true); <= 0 means none',
  ),
  // Burrow addition
  stdin: optional(z.string()).describe('Text fed to the process on stdin'),
  pty: optional(PtySize).describe(
    'Run on a pseudo-terminal of this size: stdout and stderr merged into stdout (Burrow extension)',
  ),
});
export type ExecRequest = z.input<typeof ExecRequest>;

export const ExecResponse = z.object({
  exit_code: int,
  stdout: z.string(),
  stderr: z.string(),
  timed_out: z.boolean(),
  // Burrow addition, present only when true
  truncated: z
    .boolean()
    .optional()
    .describe(
      "stdout or stderr was longer than the server's exec.max_output_bytes (16 MiB by default) and holds only its first bytes; the command still ran to its end. Use the WebSocket stream to get all of it",
    ),
});
export type ExecResponse = z.infer<typeof ExecResponse>;

/** The first WebSocket message: an exec request. `stdin: true` keeps stdin open for `stdin` messages. */
export const ExecStreamRequest = ExecRequest.omit({ stdin: true }).extend({
  stdin: optional(z.boolean()).describe('Keep stdin open for "stdin" messages (Burrow extension)'),
});

/** Messages a client may send after the request (Burrow extensions; Den clients never send them). */
export const ExecStreamClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('stdin'), data: z.string() }),
  z.object({ type: z.literal('stdin_close') }),
  z.object({ type: z.literal('signal'), signal: z.string() }),
  z.object({ type: z.literal('resize'), cols: int, rows: int }),
]);
export type ExecStreamClientMessage = z.infer<typeof ExecStreamClientMessage>;

/** Messages the server sends: `exit` carries the exit code as a decimal string, as Den does. */
export const ExecStreamServerMessage = z.object({
  type: z.enum(['stdout', 'stderr', 'exit', 'error']),
  data: z.string(),
  timed_out: z.boolean().optional(),
  code: z.string().optional(),
});
export type ExecStreamServerMessage = z.infer<typeof ExecStreamServerMessage>;
