/**
 * Tools for background processes, so an agent can run a dev server (or a watcher, or a REPL) in one turn and read
 * its logs, feed it input or stop it in later ones. Output comes from the server's per-process buffer, cut to a
 * bound the agent chooses, and the result says when it was cut.
 */
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ProcessInfo } from '@burrow/sdk';
import type { ToolContext } from '../context.js';
import { rfc3339, toolResult } from '../results.js';

const sandboxId = z.string().describe('The sandbox id returned by create_sandbox');
const processId = z.string().describe('The process id returned by start_process (proc_...)');

/** Output shown per stream by default, and at most (the server keeps 1 MiB per stream by default). */
const DEFAULT_OUTPUT_BYTES = 16 * 1024;
const MAX_OUTPUT_BYTES = 1024 * 1024;
/** Longest a process_output call waits for the process to exit. */
const MAX_WAIT_SECONDS = 300;

function processSummary(info: ProcessInfo): Record<string, unknown> {
  return {
    process_id: info.id,
    pid: info.pid,
    ...(info.tag === undefined ? {} : { tag: info.tag }),
    cmd: info.cmd,
    running: info.running,
    ...(info.exitCode === undefined ? {} : { exit_code: info.exitCode }),
    ...(info.timedOut ? { timed_out: true } : {}),
    started_at: rfc3339(info.startedAt),
  };
}

export function registerProcessTools(server: McpServer, { client }: ToolContext): void {
  server.registerTool(
    'start_process',
    {
      description:
        'Start a long-running command in the background (a dev server, a file watcher, a REPL) and return at once ' +
        'with its process_id. It keeps running between your turns until it exits or you call kill_process. Read ' +
        'what it printed with process_output; give it input with send_process_input (start it with stdin: true). ' +
        'Use exec instead for commands that finish.',
      inputSchema: {
        sandbox_id: sandboxId,
        cmd: z
          .array(z.string())
          .min(1)
          .describe('argv, e.g. ["python3", "-m", "http.server", "8000"] or ["sh", "-c", "npm run dev"]'),
        env: z.record(z.string(), z.string()).optional().describe('Extra environment variables'),
        workdir: z.string().optional().describe('Working directory, e.g. /home/sandbox/app'),
        tag: z.string().optional().describe('A name for it, e.g. "dev-server", shown by list_processes'),
        stdin: z.boolean().optional().describe('Keep its stdin open for send_process_input'),
        timeout: z.number().int().positive().optional().describe('Kill it after this many seconds'),
      },
    },
    (args) =>
      toolResult(async () => {
        const sandbox = await client.get(args.sandbox_id);
        const info = await sandbox.processes.start(args.cmd, {
          ...(args.env === undefined ? {} : { env: args.env }),
          ...(args.workdir === undefined || args.workdir === '' ? {} : { cwd: args.workdir }),
          ...(args.tag === undefined || args.tag === '' ? {} : { tag: args.tag }),
          ...(args.stdin === true ? { stdin: true } : {}),
          ...(args.timeout === undefined ? {} : { timeoutMs: args.timeout * 1000 }),
        });
        return processSummary(info);
      }),
  );

  server.registerTool(
    'process_output',
    {
      description:
        "Read a background process's recent output (the end of its stdout and stderr) and whether it is still " +
        'running or its exit code. With wait_seconds, first wait up to that long for it to exit (e.g. for a build). ' +
        'Long output is cut to its last max_bytes per stream, and the result then says so in "note".',
      inputSchema: {
        sandbox_id: sandboxId,
        process_id: processId,
        max_bytes: z
          .number()
          .int()
          .positive()
          .max(MAX_OUTPUT_BYTES)
          .optional()
          .describe(`Bytes per stream to return, from the end (default ${DEFAULT_OUTPUT_BYTES})`),
        wait_seconds: z
          .number()
          .nonnegative()
          .max(MAX_WAIT_SECONDS)
          .optional()
          .describe('Wait up to this long for the process to exit first'),
      },
    },
    (args, extra) =>
      toolResult(async () => {
        const sandbox = await client.get(args.sandbox_id);
        if (args.wait_seconds !== undefined && args.wait_seconds > 0) {
          await sandbox.processes.wait(args.process_id, {
            timeoutMs: args.wait_seconds * 1000,
            signal: extra.signal,
          });
        }
        const maxBytes = args.max_bytes ?? DEFAULT_OUTPUT_BYTES;
        const output = await sandbox.processes.output(args.process_id, { maxBytes });
        const cut = [
          ...(output.stdoutTruncated ? ['stdout'] : []),
          ...(output.stderrTruncated ? ['stderr'] : []),
        ];
        return {
          ...processSummary(output.process),
          stdout: output.stdout,
          stderr: output.stderr,
          ...(cut.length === 0
            ? {}
            : {
                note:
                  `earlier ${cut.join(' and ')} output was cut: showing at most the last ${maxBytes} bytes of each ` +
                  '(the server keeps about 1 MiB per stream; raise max_bytes to see more of it)',
              }),
        };
      }),
  );

  server.registerTool(
    'send_process_input',
    {
      description:
        'Write text to the stdin of a background process started with stdin: true (e.g. a line for a REPL: end ' +
        'it with "\\n"). eof: true closes its stdin afterwards. Then read the answer with process_output.',
      inputSchema: {
        sandbox_id: sandboxId,
        process_id: processId,
        input: z.string().describe('Text to write, e.g. "print(6 * 7)\\n"'),
        eof: z.boolean().optional().describe('Close stdin after the input (end of file)'),
      },
    },
    (args) =>
      toolResult(async () => {
        const sandbox = await client.get(args.sandbox_id);
        await sandbox.processes.sendInput(args.process_id, args.input, { eof: args.eof === true });
        return { success: true };
      }),
  );

  server.registerTool(
    'list_processes',
    {
      description:
        'List the background processes of a sandbox: running ones and recently exited ones, with their ids, tags, ' +
        'commands and exit codes.',
      inputSchema: { sandbox_id: sandboxId },
    },
    (args) =>
      toolResult(async () => {
        const sandbox = await client.get(args.sandbox_id);
        const infos = await sandbox.processes.list();
        infos.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
        return { processes: infos.map(processSummary) };
      }),
  );

  server.registerTool(
    'kill_process',
    {
      description:
        'Stop a background process and everything it started (SIGKILL), and return its exit code. With signal ' +
        '(e.g. "SIGINT", "SIGTERM") send only that signal, for a graceful stop.',
      inputSchema: {
        sandbox_id: sandboxId,
        process_id: processId,
        signal: z.string().optional().describe('Send this signal instead of killing, e.g. SIGINT'),
      },
    },
    (args) =>
      toolResult(async () => {
        const sandbox = await client.get(args.sandbox_id);
        if (args.signal !== undefined && args.signal !== '') {
          await sandbox.processes.signal(args.process_id, args.signal);
          return { success: true };
        }
        const info = await sandbox.processes.kill(args.process_id);
        return { success: true, ...(info.exitCode === undefined ? {} : { exit_code: info.exitCode }) };
      }),
  );
}
