/**
 * The engine's long operations as progress: an image pull when a create needs one (layers and bytes), and the
 * snapshot and restore of a sandbox with much data (bytes archived or refilled, the layer being committed). Shown as
 * log lines at an interval, and only for work that outlasts one interval, so small sandboxes add nothing to the log.
 */
import { PullProgressParser } from '../images/pull-progress.js';
import type { Progress, ProgressFactory } from '../progress/progress.js';
import type { PullProgress, SnapshotProgress } from '../runtime/runtime.js';
import { formatBytes } from '../util/format.js';

/** Reports a pull when one happens (most creates pull nothing, and then this logs nothing). */
export function pullReporter(progress: ProgressFactory, image: string) {
  const parser = new PullProgressParser();
  let shown: Progress | undefined;
  return {
    onProgress(event: PullProgress): void {
      shown ??= progress(`pulling ${image}`, { image });
      const layer = event.layer === undefined ? {} : { id: event.layer };
      if (parser.push({ ...event, ...layer })) shown.update(parser.describe(), parser.fields());
    },
    end(ok: boolean): void {
      shown?.end(
        ok,
        ok ? `pulled ${image}: ${parser.describe()}` : `pulling ${image} failed`,
        parser.fields(),
      );
    },
  };
}

function describeSnapshot(progress: SnapshotProgress, verb: string): string {
  const tmpfs = `${formatBytes(progress.bytes)} of tmpfs contents ${verb}`;
  if (progress.phase === 'commit')
    return `committing the writable layer (${formatBytes(progress.layerBytes ?? 0)}), ${tmpfs}`;
  return tmpfs;
}

/** Reports a snapshot (`verb` "saved") or restore ("refilled") of one sandbox. */
export function snapshotReporter(
  progress: ProgressFactory,
  title: string,
  fields: Record<string, unknown>,
  verb: string,
) {
  const shown = progress(title, fields);
  let last: SnapshotProgress = { phase: 'tmpfs', bytes: 0 };
  return {
    onProgress(next: SnapshotProgress): void {
      last = next;
      shown.update(describeSnapshot(next, verb), {
        phase: next.phase,
        bytes_done: next.bytes,
        ...(next.layerBytes === undefined ? {} : { layer_bytes: next.layerBytes }),
      });
    },
    end(ok: boolean): void {
      shown.end(
        ok,
        ok ? `${title} done: ${formatBytes(last.bytes)} of tmpfs contents ${verb}` : `${title} failed`,
        {
          bytes_done: last.bytes,
        },
      );
    },
  };
}
