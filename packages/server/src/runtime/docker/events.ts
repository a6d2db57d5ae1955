/** Docker's event stream, narrowed to what happens to Burrow's sandboxes. */
import type Dockerode from 'dockerode';
import type { Logger } from '../../logger.js';
import type { RuntimeEvent } from '../runtime.js';
import { instanceFilter, LABEL, MANAGED_FILTER } from './labels.js';

interface DockerEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** Turns one engine event into a RuntimeEvent; `oomKilled` is looked up because `die` does not carry it. */
async function toRuntimeEvent(docker: Dockerode, event: DockerEvent): Promise<RuntimeEvent | undefined> {
  const id = event.Actor?.Attributes?.[LABEL.id];
  if (event.Type !== 'container' || id === undefined) return undefined;
  switch (event.Action) {
    case 'start':
      return { type: 'started', id };
    case 'pause':
      return { type: 'paused', id };
    case 'unpause':
      return { type: 'resumed', id };
    case 'die': {
      const exitCode = Number(event.Actor?.Attributes?.exitCode ?? '0');
      let oomKilled = false;
      try {
        oomKilled = (await docker.getContainer(event.Actor?.ID ?? '').inspect()).State.OOMKilled;
      } catch {
        // Removed already; the exit code is all there is.
      }
      return { type: 'died', id, exitCode, oomKilled };
    }
    case 'destroy':
      return { type: 'removed', id };
    default:
      return undefined;
  }
}

function splitLines(): (chunk: Buffer) => string[] {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    return lines.filter((line) => line.trim() !== '');
  };
}

export async function* dockerEvents(
  docker: Dockerode,
  instance: string,
  signal: AbortSignal,
  logger: Logger,
): AsyncGenerator<RuntimeEvent> {
  const stream = (await docker.getEvents({
    filters: {
      type: ['container'],
      label: [MANAGED_FILTER, instanceFilter(instance)],
      event: ['start', 'die', 'destroy', 'pause', 'unpause'],
    },
    abortSignal: signal,
  } as Dockerode.GetEventsOptions)) as NodeJS.ReadableStream & { destroy(): void };
  const onAbort = () => stream.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  const lines = splitLines();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const line of lines(chunk)) {
        let parsed: DockerEvent;
        try {
          parsed = JSON.parse(line) as DockerEvent;
        } catch {
          logger.warn({ line }, 'unparsable Docker event');
          continue;
        }
        const event = await toRuntimeEvent(docker, parsed);
        if (event !== undefined) yield event;
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}
