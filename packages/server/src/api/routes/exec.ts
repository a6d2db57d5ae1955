/**
 * `POST /sandboxes/{id}/exec`: Den's synchronous exec. The timeout really kills the process (200 with exit code
 * 124 and `timed_out: true`), a client that disconnects kills it too, and no server timeout cuts the response.
 * Large output is answered while the command runs (exec-answer.ts).
 * Burrow's `pty` runs the command on a terminal (its stderr then arrives merged into stdout).
 */
import { BurrowError, ExecRequest, ExecStreamRequest, MAX_EXEC_TIMEOUT_SECONDS } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { sandboxPathString } from '../../runtime/paths.js';
import type { ExecOptions } from '../../runtime/runtime.js';
import { readBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { watchDisconnect } from '../disconnect.js';
import { checkCmd, ptyFromWire } from '../command-fields.js';
import { ExecAnswer } from '../exec-answer.js';
import type { IdParams } from './sandboxes.js';

// `cmd` is checked by hand so that a missing one gets Den's message (`cmd is required`).
const SyncBody = ExecRequest.extend({ cmd: z.unknown().optional() });
const StreamBody = ExecStreamRequest.extend({ cmd: z.unknown().optional() });

interface ExecFields {
  env?: Record<string, string> | undefined;
  workdir?: string | undefined;
  timeout?: number | undefined;
  pty?: { cols: number; rows: number } | undefined;
}

/** Exec options shared by the HTTP and WebSocket forms; `timeout` <= 0 means none, as in Den. */
function baseOptions(cmd: string[], body: ExecFields): ExecOptions {
  const options: ExecOptions = { cmd };
  if (body.env !== undefined) options.env = body.env;
  if (body.workdir !== undefined && body.workdir !== '')
    options.workdir = sandboxPathString(body.workdir, 'workdir');
  if (body.timeout !== undefined && body.timeout > 0) {
    if (body.timeout > MAX_EXEC_TIMEOUT_SECONDS) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `timeout: at most ${MAX_EXEC_TIMEOUT_SECONDS} seconds (24 h) for a command, got ${body.timeout}: ` +
          'use the WebSocket stream without a timeout for longer work',
        { field: 'timeout', limit: MAX_EXEC_TIMEOUT_SECONDS },
      );
    }
    options.timeoutMs = body.timeout * 1000;
  }
  if (body.pty !== undefined) options.pty = ptyFromWire(body.pty);
  return options;
}

/** The WebSocket's first message as exec options (`stdin: true` keeps stdin open). */
export function streamExecOptions(message: unknown): ExecOptions {
  const body = readBody(StreamBody, message, { allowEmpty: false });
  const options = baseOptions(checkCmd(body.cmd), body);
  if (body.stdin === true) options.openStdin = true;
  return options;
}

export function execRoutes(app: FastifyInstance, { engine }: ApiContext): void {
  app.post<{ Params: IdParams }>('/api/v1/sandboxes/:id/exec', async (request, reply) => {
    const body = readBody(SyncBody, request.body, { allowEmpty: false });
    const options = baseOptions(checkCmd(body.cmd), body);
    if (body.stdin !== undefined) options.stdin = body.stdin;
    const disconnect = watchDisconnect(reply);
    const answer = new ExecAnswer(reply);
    let result;
    try {
      result = await engine.exec(request.params.id, {
        ...options,
        signal: disconnect.signal,
        stdoutSink: answer.stdout,
      });
    } catch (error) {
      if (!answer.started) throw error;
      answer.fail(error as Error);
      return reply;
    } finally {
      disconnect.dispose();
    }
    return answer.finish(result);
  });
}
