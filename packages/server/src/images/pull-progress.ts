/** Sums Docker's per-layer pull events into one line: layers done of how many, bytes downloaded of how many. */
import type { ProgressFields } from '../progress/progress.js';
import { formatBytes } from '../util/format.js';

/** One event of Docker's pull stream (the runtime's PullProgress has the same shape, without the layer id). */
export interface PullEvent {
  id?: string;
  status?: string;
  current?: number;
  total?: number;
}

interface Layer {
  current: number;
  total: number;
  done: boolean;
}

const DONE = /^(Pull complete|Already exists|Download complete)$/;

export class PullProgressParser {
  private readonly layers = new Map<string, Layer>();

  /** Feeds one event; returns whether the totals changed. */
  push(event: PullEvent): boolean {
    const id = event.id;
    const status = event.status ?? '';
    // Events without a layer id ("Pulling from library/debian", "Digest: ...", "Status: ...") carry no bytes.
    if (id === undefined || id === '' || !/^[0-9a-f]{12,}$/.test(id)) return false;
    const layer = this.layers.get(id) ?? { current: 0, total: 0, done: false };
    this.layers.set(id, layer);
    if (status === 'Downloading') {
      if (event.total !== undefined && event.total > 0) layer.total = event.total;
      if (event.current !== undefined) layer.current = event.current;
    } else if (DONE.test(status)) {
      if (layer.total > 0) layer.current = layer.total;
      if (status !== 'Download complete') layer.done = true;
    }
    return true;
  }

  fields(): ProgressFields {
    let current = 0;
    let total = 0;
    let done = 0;
    for (const layer of this.layers.values()) {
      current += layer.current;
      total += layer.total;
      if (layer.done) done++;
    }
    return { layers_done: done, layers: this.layers.size, bytes_done: current, bytes_total: total };
  }

  /** `2/3 layers, 12.3 MiB of 28.1 MiB`. */
  describe(): string {
    const fields = this.fields() as {
      layers_done: number;
      layers: number;
      bytes_done: number;
      bytes_total: number;
    };
    const bytes =
      fields.bytes_total > 0
        ? `, ${formatBytes(fields.bytes_done)} of ${formatBytes(fields.bytes_total)}`
        : '';
    return `${fields.layers_done}/${fields.layers} layers${bytes}`;
  }
}
