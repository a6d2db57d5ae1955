/** Tools for the sandbox lifecycle and for running commands. */
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { MAX_EXEC_TIMEOUT_SECONDS, type CreateSandboxOptions, type NetworkMode } from '@burrow/sdk';
import type { ToolContext } from '../context.js';
import { rfc3339, toolResult } from '../results.js';

const sandboxId = z.string().describe('The sandbox id returned by create_sandbox');

export function registerSandboxTools(server: McpServer, context: ToolContext): void {
  const { client, created } = context;

  server.registerTool(
    'create_sandbox',
    {
      description:
        'Create an isolated Linux sandbox (a container) and return its id. Use it for every command and file tool. ' +
        'Writable places are /tmp and /home/sandbox (the root filesystem is read-only). The sandbox is destroyed ' +
        'automatically after `timeout` seconds; call destroy_sandbox as soon as you are done with it.',
      inputSchema: {
        image: z.string().optional().describe('Container image; the server default when omitted'),
        timeout: z
          .number()
          .int()
          .optional()
          .describe('Lifetime in seconds; 0 or less means the server default (30 minutes unless configured)'),
        cpu: z
          .number()
          .int()
          .nonnegative()
          .optional()
          .describe('CPU limit in nano-CPUs (1000000000 = one core)'),
        memory: z.number().int().nonnegative().optional().describe('Memory limit in bytes'),
        network_mode: z
          .enum(['', 'none', 'internal', 'bridge'])
          .optional()
          .describe('"none" cuts the network off entirely; omit for the server default'),
        env: z.record(z.string(), z.string()).optional().describe('Environment variables of every command'),
        runtime: z
          .enum(['runc', 'gvisor'])
          .optional()
          .describe('"gvisor" runs the sandbox on a second, user-space kernel: for untrusted code'),
      },
    },
    (args) =>
      toolResult(async () => {
        const options: CreateSandboxOptions = {};
        if (args.image !== undefined && args.image !== '') options.image = args.image;
        // Den treats 0 and negatives as "the default".
        if (args.timeout !== undefined && args.timeout > 0) options.timeoutSeconds = args.timeout;
        if (args.cpu !== undefined && args.cpu > 0) options.cpus = args.cpu / 1e9;
        if (args.memory !== undefined && args.memory > 0) options.memoryBytes = args.memory;
        if (args.network_mode !== undefined && args.network_mode !== '')
          options.networkMode = args.network_mode as NetworkMode;
        if (args.env !== undefined) options.env = args.env;
        if (args.runtime !== undefined) options.runtime = args.runtime;
        const sandbox = await client.create(options);
        created.add(sandbox.id);
        return { id: sandbox.id, status: sandbox.info.status };
      }),
  );

  server.registerTool(
    'exec',
    {
      description:
        'Run a command in a sandbox and return its exit code, stdout and stderr. `cmd` is an argv array, not a ' +
        'shell string: ["ls", "-la", "/tmp"]. For pipes, redirections, globs or `cd`, use ["sh", "-c", "cd /tmp && ls | wc -l"]. ' +
        'A non-zero exit_code is a normal result (read stderr), not a tool failure. Each call is a fresh process: ' +
        "use `workdir` instead of relying on a previous `cd`. Output beyond the server's limit (16 MiB per stream " +
        'by default) is cut and the result has "truncated": true: redirect big output to a file and read parts of it.',
      inputSchema: {
        sandbox_id: sandboxId,
        cmd: z
          .array(z.string())
          .min(1)
          .describe('argv, e.g. ["python3", "script.py"] or ["sh", "-c", "a | b"]'),
        env: z.record(z.string(), z.string()).optional().describe('Extra environment variables'),
        workdir: z.string().optional().describe('Working directory, e.g. /home/sandbox'),
        timeout: z
          .number()
          .int()
          .max(MAX_EXEC_TIMEOUT_SECONDS)
          .optional()
          .describe(
            `Kill the command after this many seconds (at most ${MAX_EXEC_TIMEOUT_SECONDS}); 0 or less means no timeout`,
          ),
        stdin: z.string().optional().describe('Text fed to the command on stdin'),
      },
    },
    (args, extra) =>
      toolResult(async () => {
        const sandbox = await client.get(args.sandbox_id);
        // The request's signal makes a cancelled tool call kill the command.
        const result = await sandbox.commands.run(args.cmd, {
          ...(args.env === undefined ? {} : { env: args.env }),
          ...(args.workdir === undefined || args.workdir === '' ? {} : { cwd: args.workdir }),
          // Den treats 0 and negatives as "no timeout".
          ...(args.timeout === undefined || args.timeout <= 0 ? {} : { timeoutMs: args.timeout * 1000 }),
          ...(args.stdin === undefined ? {} : { stdin: args.stdin }),
          signal: extra.signal,
        });
        return {
          exit_code: result.exitCode,
          stderr: result.stderr,
          stdout: result.stdout,
          success: result.exitCode === 0,
          ...(result.timedOut ? { timed_out: true } : {}),
          ...(result.truncated ? { truncated: true } : {}),
        };
      }),
  );

  server.registerTool(
    'destroy_sandbox',
    {
      description: 'Destroy a sandbox and everything in it. Do this as soon as you no longer need it.',
      inputSchema: { sandbox_id: sandboxId },
    },
    (args) =>
      toolResult(async () => {
        await (await client.get(args.sandbox_id)).destroy();
        created.delete(args.sandbox_id);
        return { success: true };
      }),
  );

  server.registerTool(
    'list_sandboxes',
    { description: 'List all sandboxes on the server with their status and expiry.', inputSchema: {} },
    () =>
      toolResult(async () => ({
        sandboxes: (await client.list()).map(({ info }) => ({
          id: info.id,
          image: info.image,
          status: info.status,
          created_at: rfc3339(info.createdAt),
          ...(info.expiresAt === null ? {} : { expires_at: rfc3339(info.expiresAt) }),
        })),
      })),
  );

  server.registerTool(
    'start_sandbox',
    {
      description:
        'Start a stopped sandbox again (same id; files in /tmp and /home/sandbox were lost when it stopped).',
      inputSchema: { sandbox_id: sandboxId },
    },
    (args) =>
      toolResult(async () => {
        await (await client.get(args.sandbox_id)).start();
        return { success: true, status: 'running' };
      }),
  );

  server.registerTool(
    'stop_sandbox',
    {
      description:
        'Stop a sandbox without destroying it (it still counts against the limit; start_sandbox resumes it).',
      inputSchema: { sandbox_id: sandboxId },
    },
    (args) =>
      toolResult(async () => {
        await (await client.get(args.sandbox_id)).stop();
        return { success: true, status: 'stopped' };
      }),
  );

  server.registerTool(
    'pause_sandbox',
    {
      description:
        'Pause a sandbox you will need later: its processes freeze where they are (memory kept, no CPU). The next ' +
        'exec or file call resumes it, or call resume_sandbox. Cheaper than keeping it running while idle.',
      inputSchema: { sandbox_id: sandboxId },
    },
    (args) =>
      toolResult(async () => {
        await (await client.get(args.sandbox_id)).pause();
        return { success: true, status: 'paused' };
      }),
  );

  server.registerTool(
    'resume_sandbox',
    {
      description: 'Resume a paused sandbox: its processes continue exactly where they were.',
      inputSchema: { sandbox_id: sandboxId },
    },
    (args) =>
      toolResult(async () => {
        await (await client.get(args.sandbox_id)).resume();
        return { success: true, status: 'running' };
      }),
  );

  server.registerTool(
    'fork_sandbox',
    {
      description:
        'Copy a running sandbox to try several approaches at once: each copy starts with the same files ' +
        '(/tmp and /home/sandbox included) and settings, but no running processes. Returns the new ids; destroy ' +
        'the copies you no longer need.',
      inputSchema: {
        sandbox_id: sandboxId,
        count: z.number().int().min(1).max(20).optional().describe('How many copies (default 1)'),
      },
    },
    (args) =>
      toolResult(async () => {
        const copies = await (await client.get(args.sandbox_id)).fork(args.count ?? 1);
        for (const copy of copies) created.add(copy.id);
        return { sandbox_ids: copies.map((copy) => copy.id) };
      }),
  );

  server.registerTool(
    'sandbox_stats',
    {
      description: 'Current CPU, memory, network, disk and process usage of a sandbox.',
      inputSchema: { sandbox_id: sandboxId },
    },
    (args) =>
      toolResult(async () => {
        const stats = await (await client.get(args.sandbox_id)).stats();
        return {
          cpu_percent: stats.cpuPercent,
          memory_usage: stats.memoryUsage,
          memory_limit: stats.memoryLimit,
          memory_percent: stats.memoryPercent,
          network_rx: stats.networkRx,
          network_tx: stats.networkTx,
          disk_read: stats.diskRead,
          disk_write: stats.diskWrite,
          pid_count: stats.pidCount,
          timestamp: rfc3339(stats.timestamp),
        };
      }),
  );
}
