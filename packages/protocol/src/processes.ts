/**
 * Background processes, terminals and file watching on the wire (Burrow additions): the HTTP bodies under
 * `/api/v1/sandboxes/{id}/processes...`, and the messages of the attach and watch WebSockets.
 */
import { z } from 'zod';
import { int, optional } from './sandbox.js';

/** A terminal's size in character cells (1-1000 each). */
export const PtySize = z.object({
  cols: int.describe('Columns, 1-1000'),
  rows: int.describe('Rows, 1-1000'),
});
export type PtySize = z.infer<typeof PtySize>;

export const StartProcessRequest = z.object({
  cmd: z.array(z.string()).describe('argv; not a shell string. Use ["sh", "-c", "..."] for shell syntax'),
  env: optional(z.record(z.string(), z.string())),
  workdir: optional(z.string()),
  user: optional(z.string()).describe('Docker-style user: name, uid, name:group or uid:gid'),
  tag: optional(z.string()).describe('Your name for the process, e.g. "dev-server" (at most 256 characters)'),
  stdin: optional(z.boolean()).describe(
    'Keep stdin open for input (POST .../input, or the attach WebSocket)',
  ),
  timeout: optional(int).describe('Seconds; the process (and its children) is killed then (exit code 124)'),
  pty: optional(PtySize).describe('Run on a pseudo-terminal of this size (stdout and stderr merged)'),
});
export type StartProcessRequest = z.input<typeof StartProcessRequest>;

/** A background process as the API reports it. */
export const ProcessInfo = z.object({
  id: z.string().describe('Burrow\'s id for the process ("proc_..."), stable for its lifetime'),
  pid: int.describe('Its pid inside the sandbox'),
  tag: z.string().optional(),
  cmd: z.array(z.string()),
  pty: z.boolean(),
  stdin: z.boolean().describe('Whether stdin is open for input'),
  started_at: z.string().describe('RFC 3339'),
  running: z.boolean(),
  exit_code: int
    .optional()
    .describe('Once exited: the exit code (128 + n after signal n, 124 after its timeout)'),
  ended_at: z.string().optional().describe('RFC 3339, once exited'),
  timed_out: z.boolean(),
  output_dropped: z
    .object({ stdout: int, stderr: int })
    .describe('Bytes that fell out of the replay buffer, per stream'),
});
export type ProcessInfo = z.infer<typeof ProcessInfo>;

export const WaitProcessRequest = z.object({
  timeout: optional(z.number()).describe(
    'Seconds to wait for the exit (default 30, at most 3600); then the process is returned still running',
  ),
});

export const ProcessInputRequest = z.object({
  data: optional(z.string()).describe('Text written to stdin (UTF-8)'),
  data_base64: optional(z.string()).describe('Bytes written to stdin, base64 (instead of data)'),
  eof: optional(z.boolean()).describe('Close stdin after the data (on a terminal: end of file)'),
});
export type ProcessInputRequest = z.input<typeof ProcessInputRequest>;

export const SignalProcessRequest = z.object({
  signal: z
    .string()
    .describe('SIGINT, INT, SIGTERM, ... (HUP INT QUIT KILL USR1 USR2 PIPE ALRM TERM CONT STOP TSTP WINCH)'),
});

export const ResizeProcessRequest = PtySize;

/** `GET .../processes/{pid}/output`: what the replay buffer holds now. */
export const ProcessOutput = z.object({
  process: ProcessInfo,
  stdout: z
    .string()
    .describe('UTF-8 text (invalid bytes become U+FFFD); on a terminal, everything it showed'),
  stderr: z.string(),
  stdout_truncated: z
    .boolean()
    .describe('Earlier output is missing (it fell out of the buffer, or max_bytes kept only the end)'),
  stderr_truncated: z.boolean(),
});
export type ProcessOutput = z.infer<typeof ProcessOutput>;

/** Messages a client may send on the attach WebSocket (binary frames are raw stdin bytes). */
export const AttachClientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('stdin'),
    data: z.string().optional(),
    data_base64: z.string().optional(),
  }),
  z.object({ type: z.literal('stdin_close') }),
  z.object({ type: z.literal('signal'), signal: z.string() }),
  z.object({ type: z.literal('resize'), cols: int, rows: int }),
]);
export type AttachClientMessage = z.infer<typeof AttachClientMessage>;

/**
 * Messages the attach WebSocket sends as JSON text frames (terminal output comes as binary frames): first
 * `process`, then output, `dropped` when bytes were lost to this reader, and `exit` or `error` last.
 */
export const AttachServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('process'), process: ProcessInfo }),
  z.object({ type: z.literal('stdout'), data: z.string() }),
  z.object({ type: z.literal('stderr'), data: z.string() }),
  z.object({ type: z.literal('dropped'), stream: z.enum(['stdout', 'stderr']), bytes: int }),
  z.object({ type: z.literal('exit'), data: z.string(), timed_out: z.boolean().optional() }),
  z.object({ type: z.literal('error'), data: z.string(), code: z.string() }),
  z
    .object({ type: z.literal('refused'), data: z.string(), code: z.string() })
    .describe(
      'A client message that could not be applied (e.g. input to a process without stdin); the stream goes on',
    ),
]);
export type AttachServerMessage = z.infer<typeof AttachServerMessage>;

export const WatchEventKind = z.enum(['create', 'write', 'remove', 'rename', 'chmod']);
export type WatchEventKind = z.infer<typeof WatchEventKind>;

/** Messages of the watch WebSocket: `watching` once the watch is in place, then events and overflows. */
export const WatchServerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('watching'), path: z.string(), recursive: z.boolean() }),
  z.object({
    type: z.literal('event'),
    kind: WatchEventKind,
    path: z
      .string()
      .describe('As the sandbox sees it (U+FFFD for bytes that are not UTF-8; see path_base64)'),
    path_base64: z.string().optional().describe('The raw path, when it is not UTF-8'),
    is_dir: z.boolean(),
  }),
  z
    .object({ type: z.literal('overflow') })
    .describe('Events were lost (a queue overflowed): re-read what matters'),
  z.object({ type: z.literal('error'), data: z.string(), code: z.string() }),
]);
export type WatchServerMessage = z.infer<typeof WatchServerMessage>;
