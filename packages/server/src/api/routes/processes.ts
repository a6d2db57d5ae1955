/**
 * Background processes over HTTP (Burrow): start, list, get, wait with a deadline, input, signal, kill, resize and
 * the buffered output. A process belongs to its sandbox, not to the request that started it: it keeps running
 * after the response and after its client is gone. The attach WebSocket is ws/process-attach.ts.
 */
import {
  BurrowError,
  ProcessInputRequest,
  ResizeProcessRequest,
  SignalProcessRequest,
  StartProcessRequest,
  WaitProcessRequest,
  type ProcessOutput,
} from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { readBody } from '../body.js';
import { ptyFromWire } from '../command-fields.js';
import type { ApiContext } from '../context.js';
import { watchDisconnect } from '../disconnect.js';
import { collectOutput } from '../process-output.js';
import {
  inputFromWire,
  processIdFromWire,
  processToWire,
  startOptionsFromWire,
  waitTimeoutMs,
} from '../process-wire.js';
import { requireSignal } from '../signals.js';

export const PROCESSES = '/api/v1/sandboxes/:id/processes';
const PROCESS = `${PROCESSES}/:processId`;

export interface ProcessParams {
  id: string;
  processId: string;
}

const StartBody = StartProcessRequest.extend({ cmd: z.unknown().optional() });

/** Default and largest `max_bytes` of GET .../output, per stream. */
const DEFAULT_OUTPUT_BYTES = 1024 * 1024;
/** How long POST .../kill waits for the exit it caused before answering (running: true if it did not come). */
const KILL_WAIT_MS = 10_000;
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

function outputLimit(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_OUTPUT_BYTES;
  const bytes = Number(value);
  if (!/^\d+$/.test(value.trim()) || bytes < 1 || bytes > MAX_OUTPUT_BYTES) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `max_bytes: a whole number of bytes from 1 to ${MAX_OUTPUT_BYTES} (got ${JSON.stringify(value)})`,
      { field: 'max_bytes' },
    );
  }
  return bytes;
}

export function processRoutes(app: FastifyInstance, { engine }: ApiContext): void {
  const processes = engine.processes;

  app.post<{ Params: { id: string } }>(PROCESSES, async (request, reply) => {
    const options = startOptionsFromWire(readBody(StartBody, request.body, { allowEmpty: false }));
    const info = await processes.start(request.params.id, options);
    return reply.code(201).send(processToWire(info));
  });

  app.get<{ Params: { id: string } }>(PROCESSES, async (request) =>
    (await processes.list(request.params.id)).map(processToWire),
  );

  app.get<{ Params: ProcessParams }>(PROCESS, async (request) => {
    const { id, processId } = request.params;
    return processToWire(await processes.get(id, processIdFromWire(processId)));
  });

  app.post<{ Params: ProcessParams; Querystring: { timeout?: string } }>(
    `${PROCESS}/wait`,
    async (request, reply) => {
      const { id, processId } = request.params;
      const body = readBody(WaitProcessRequest, request.body, { allowEmpty: true });
      const timeoutMs = waitTimeoutMs(request.query.timeout, body.timeout);
      const pid = processIdFromWire(processId);
      // A client that gives up ends the wait (the process runs on).
      const disconnect = watchDisconnect(reply);
      try {
        return processToWire(await processes.wait(id, pid, timeoutMs, disconnect.signal));
      } finally {
        disconnect.dispose();
      }
    },
  );

  app.post<{ Params: ProcessParams }>(`${PROCESS}/input`, async (request) => {
    const { id, processId } = request.params;
    const body = readBody(ProcessInputRequest, request.body, { allowEmpty: false });
    const data = inputFromWire(body);
    if (data.length === 0 && body.eof !== true) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        'nothing to send: give data (text), data_base64 (bytes) or eof: true',
        { field: 'data' },
      );
    }
    await processes.input(id, processIdFromWire(processId), data, { eof: body.eof === true });
    return { success: true };
  });

  app.post<{ Params: ProcessParams }>(`${PROCESS}/signal`, async (request) => {
    const { id, processId } = request.params;
    const body = readBody(SignalProcessRequest, request.body, { allowEmpty: false });
    await processes.signal(id, processIdFromWire(processId), requireSignal(body.signal));
    return { success: true };
  });

  app.post<{ Params: ProcessParams }>(
    `${PROCESS}/kill`,
    { config: { ignoreBody: true } },
    async (request) => {
      const { id, processId } = request.params;
      const pid = processIdFromWire(processId);
      await processes.kill(id, pid);
      // The kill is sent; the exit follows within moments (a tree takes a little longer).
      return processToWire(await processes.wait(id, pid, KILL_WAIT_MS));
    },
  );

  app.post<{ Params: ProcessParams }>(`${PROCESS}/resize`, async (request) => {
    const { id, processId } = request.params;
    const body = readBody(ResizeProcessRequest, request.body, { allowEmpty: false });
    const size = ptyFromWire(body, '');
    await processes.resize(id, processIdFromWire(processId), size);
    return { success: true };
  });

  app.get<{ Params: ProcessParams; Querystring: { max_bytes?: string } }>(
    `${PROCESS}/output`,
    async (request): Promise<ProcessOutput> => {
      const { id, processId } = request.params;
      const maxBytes = outputLimit(request.query.max_bytes);
      const pid = processIdFromWire(processId);
      const collected = await collectOutput(await processes.attach(id, pid, { replay: true }), { maxBytes });
      return {
        process: processToWire(await processes.get(id, pid)),
        stdout: collected.stdout.toString('utf8'),
        stderr: collected.stderr.toString('utf8'),
        stdout_truncated: collected.stdoutTruncated,
        stderr_truncated: collected.stderrTruncated,
      };
    },
  );
}
