/**
 * envd's `process.Process` over Burrow's background processes. E2B names a process by its pid inside the sandbox
 * (or a tag); Burrow by its own id, so each call looks the pid up among the sandbox's processes. A started process
 * belongs to the sandbox: the client going away leaves it running (reconnect with Connect), and the call's
 * deadline (`Connect-Timeout-Ms`, the SDK's `timeoutMs`) is the process's lifetime, as on E2B.
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from '@connectrpc/connect';
import { BurrowError } from '@burrow/protocol';
import type { Engine } from '../../engine/engine.js';
import type { Logger } from '../../logger.js';
import type { ProcessAttachment, ProcessInfo } from '../../runtime/runtime.js';
import {
  ProcessEventSchema,
  ProcessInfoSchema,
  Signal,
  type Process,
  type ProcessEvent,
  type ProcessInput,
  type ProcessSelector,
} from '../gen/process/process_pb.js';
import { keepaliveMsOf, sandboxOf, userOf } from './context.js';
import { KEEPALIVE, withKeepalive } from './keepalive.js';
import { execUser, type SandboxHomes } from './users.js';

const MAX_TERMINAL_CELLS = 10_000;

export interface ProcessServiceOptions {
  engine: Engine;
  homes: SandboxHomes;
  logger: Logger;
}

function selectorText(selector: ProcessSelector | undefined): string {
  if (selector?.selector.case === 'pid') return `pid ${selector.selector.value}`;
  if (selector?.selector.case === 'tag') return `tag "${selector.selector.value}"`;
  return 'no process';
}

/**
 * The running process a selector names. An exited one is not found, as on E2B (whose envd forgets a process when
 * it exits): a kill after the end is `false`, input after the end an error.
 */
export async function findProcess(
  engine: Engine,
  sandboxId: string,
  selector: ProcessSelector | undefined,
): Promise<ProcessInfo> {
  const choice = selector?.selector;
  if (choice?.case !== 'pid' && choice?.case !== 'tag') {
    throw new ConnectError('process: give a pid or a tag', Code.InvalidArgument);
  }
  const found = (await engine.processes.list(sandboxId)).find(
    (info) => info.running && (choice.case === 'pid' ? info.pid === choice.value : info.tag === choice.value),
  );
  if (found === undefined) {
    throw new ConnectError(`no running process with ${selectorText(selector)}`, Code.NotFound);
  }
  return found;
}

function checkSize(cols: number, rows: number): { cols: number; rows: number } {
  if (cols < 1 || rows < 1 || cols > MAX_TERMINAL_CELLS || rows > MAX_TERMINAL_CELLS) {
    throw new ConnectError(
      `pty.size: ${cols}x${rows} is not a terminal size (1..10000 each)`,
      Code.InvalidArgument,
    );
  }
  return { cols, rows };
}

function event(value: ProcessEvent['event']): ProcessEvent {
  return create(ProcessEventSchema, { event: value });
}

function endEvent(exitCode: number): ProcessEvent {
  const status = `exit status ${exitCode}`;
  return event({
    case: 'end',
    value: {
      $typeName: 'process.ProcessEvent.EndEvent',
      exitCode,
      exited: true,
      status,
      ...(exitCode === 0 ? {} : { error: status }),
    },
  });
}

/** start, the attachment's output and end as envd events, with keepalives while the process is quiet. */
async function* streamEvents(
  attachment: ProcessAttachment,
  context: HandlerContext,
  logger: Logger,
): AsyncGenerator<ProcessEvent> {
  const info = attachment.info;
  const stop = () => void attachment.close().catch(() => undefined);
  context.signal.addEventListener('abort', stop, { once: true });
  try {
    yield event({ case: 'start', value: { $typeName: 'process.ProcessEvent.StartEvent', pid: info.pid } });
    for await (const item of withKeepalive(attachment, keepaliveMsOf(context), context.signal)) {
      if (item === KEEPALIVE) {
        yield event({ case: 'keepalive', value: { $typeName: 'process.ProcessEvent.KeepAlive' } });
        continue;
      }
      if (item.type === 'stdout' || item.type === 'stderr') {
        const stream = item.type === 'stdout' && info.pty ? 'pty' : item.type;
        yield event({
          case: 'data',
          value: {
            $typeName: 'process.ProcessEvent.DataEvent',
            output: { case: stream, value: new Uint8Array(item.data) },
          },
        });
      } else if (item.type === 'dropped') {
        // envd has no way to say so; the client reads on, with a gap the log records.
        logger.warn(
          { process: info.id, stream: item.stream, bytes: item.bytes },
          'process output was dropped',
        );
      } else {
        yield endEvent(item.exitCode);
        return;
      }
    }
  } finally {
    context.signal.removeEventListener('abort', stop);
    stop();
  }
}

function inputBytes(input: ProcessInput | undefined): Uint8Array {
  const choice = input?.input;
  if (choice?.case === 'stdin' || choice?.case === 'pty') return choice.value;
  throw new ConnectError('input: give stdin or pty bytes', Code.InvalidArgument);
}

export function processService(options: ProcessServiceOptions): ServiceImpl<typeof Process> {
  const { engine, homes, logger } = options;

  const send = async (
    context: HandlerContext,
    selector: ProcessSelector | undefined,
    input: ProcessInput | undefined,
  ) => {
    const sandboxId = sandboxOf(context);
    const data = inputBytes(input);
    const info = await findProcess(engine, sandboxId, selector);
    await engine.processes.input(sandboxId, info.id, data);
  };

  return {
    async list(_request, context) {
      const sandboxId = sandboxOf(context);
      const running = (await engine.processes.list(sandboxId)).filter((info) => info.running);
      return {
        processes: running.map((info) =>
          create(ProcessInfoSchema, {
            pid: info.pid,
            ...(info.tag === undefined ? {} : { tag: info.tag }),
            config: { cmd: info.cmd[0] ?? '', args: info.cmd.slice(1), envs: {} },
          }),
        ),
      };
    },

    async *start(request, context) {
      const sandboxId = sandboxOf(context);
      const config = request.process;
      if (config === undefined || config.cmd === '') {
        throw new ConnectError('process.cmd: give the program to run', Code.InvalidArgument);
      }
      const user = execUser(userOf(context));
      const workdir = await homes.resolve(sandboxId, config.cwd ?? '', user);
      const size = request.pty?.size;
      const timeoutMs = context.timeoutMs();
      const started = await engine.processes.start(sandboxId, {
        cmd: [config.cmd, ...config.args],
        env: { ...config.envs },
        workdir,
        ...(user === undefined ? {} : { user }),
        ...(request.tag === undefined || request.tag === '' ? {} : { tag: request.tag }),
        ...(size === undefined ? {} : { pty: checkSize(size.cols, size.rows) }),
        // E2B keeps stdin open unless told otherwise; a terminal always has it.
        stdin: size !== undefined || request.stdin !== false,
        ...(timeoutMs === undefined || timeoutMs <= 0 ? {} : { timeoutMs }),
      });
      const attachment = await engine.processes.attach(sandboxId, started.id, { replay: true });
      for await (const item of streamEvents(attachment, context, logger)) yield { event: item };
    },

    async *connect(request, context) {
      const sandboxId = sandboxOf(context);
      const info = await findProcess(engine, sandboxId, request.process);
      const attachment = await engine.processes.attach(sandboxId, info.id, { replay: false });
      for await (const item of streamEvents(attachment, context, logger)) yield { event: item };
    },

    async update(request, context) {
      const sandboxId = sandboxOf(context);
      const size = request.pty?.size;
      if (size === undefined) return {};
      const info = await findProcess(engine, sandboxId, request.process);
      await engine.processes.resize(sandboxId, info.id, checkSize(size.cols, size.rows));
      return {};
    },

    async sendInput(request, context) {
      await send(context, request.process, request.input);
      return {};
    },

    async streamInput(requests, context) {
      let selector: ProcessSelector | undefined;
      for await (const request of requests) {
        const choice = request.event;
        if (choice.case === 'start') selector = choice.value.process;
        else if (choice.case === 'data') {
          if (selector === undefined) {
            throw new ConnectError(
              'stream input: send a start event naming the process first',
              Code.InvalidArgument,
            );
          }
          await send(context, selector, choice.value.input);
        }
      }
      return {};
    },

    async sendSignal(request, context) {
      const sandboxId = sandboxOf(context);
      const info = await findProcess(engine, sandboxId, request.process);
      if (request.signal === Signal.SIGKILL) await engine.processes.kill(sandboxId, info.id);
      else if (request.signal === Signal.SIGTERM)
        await engine.processes.signal(sandboxId, info.id, 'SIGTERM');
      else throw new ConnectError('signal: use SIGNAL_SIGTERM or SIGNAL_SIGKILL', Code.InvalidArgument);
      return {};
    },

    async closeStdin(request, context) {
      const sandboxId = sandboxOf(context);
      const info = await findProcess(engine, sandboxId, request.process);
      if (!info.stdin) throw new BurrowError('CONFLICT', `process ${info.pid} has no open stdin`);
      await engine.processes.input(sandboxId, info.id, new Uint8Array(0), { eof: true });
      return {};
    },
  };
}
