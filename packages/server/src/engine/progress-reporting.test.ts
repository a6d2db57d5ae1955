import { expect, it } from 'vitest';
import type { Progress, ProgressFactory } from '../progress/progress.js';
import { pullReporter } from './progress-reporting.js';

function recording() {
  const seen: string[] = [];
  const factory: ProgressFactory = (title): Progress => {
    seen.push(`start ${title}`);
    return {
      update: (text) => seen.push(`update ${text}`),
      end: (ok, text) => seen.push(`end ${ok} ${text}`),
    };
  };
  return { seen, factory };
}

it('shows a pull only when a create pulls, with layers and bytes', () => {
  const quiet = recording();
  pullReporter(quiet.factory, 'busybox:latest').end(true);
  expect(quiet.seen).toEqual([]);

  const { seen, factory } = recording();
  const pull = pullReporter(factory, 'python:3.12');
  pull.onProgress({ image: 'python:3.12', status: 'Pulling from library/python' });
  pull.onProgress({
    image: 'python:3.12',
    status: 'Downloading',
    layer: 'a1b2c3d4e5f6',
    current: 512,
    total: 2048,
  });
  pull.onProgress({ image: 'python:3.12', status: 'Pull complete', layer: 'a1b2c3d4e5f6' });
  pull.end(true);
  expect(seen).toEqual([
    'start pulling python:3.12',
    'update 0/1 layers, 512 B of 2.0 KiB',
    'update 1/1 layers, 2.0 KiB of 2.0 KiB',
    'end true pulled python:3.12: 1/1 layers, 2.0 KiB of 2.0 KiB',
  ]);
});
