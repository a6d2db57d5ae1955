import type { SandboxInfo } from '@burrow/sdk';
import { describe, expect, it } from 'vitest';
import { countByStatus, filterAndSort, visibleWindow } from './list-model.js';

function records(count: number): SandboxInfo[] {
  const statuses: SandboxInfo['status'][] = ['running', 'stopped', 'error', 'creating'];
  return Array.from({ length: count }, (_, i) => ({
    id: `sb${String(i).padStart(4, '0')}`,
    image: i % 2 === 0 ? 'python:3.12' : 'node:20',
    status: statuses[i % 4] as SandboxInfo['status'],
    createdAt: new Date(1_700_000_000_000 + i * 1000),
    expiresAt: i % 10 === 0 ? null : new Date(1_800_000_000_000 - i * 1000),
    ports: [],
    labels: { team: i % 3 === 0 ? 'red' : 'blue' },
  }));
}

describe('sandbox list model', () => {
  it('filters by text (id, image, label) and status, and sorts stably', () => {
    const items = records(500);
    expect(
      filterAndSort(items, { text: 'TEAM=RED', status: '' }, { key: 'id', descending: false }),
    ).toHaveLength(167);
    expect(
      filterAndSort(items, { text: 'node', status: 'stopped' }, { key: 'id', descending: false }),
    ).toHaveLength(125);
    const newest = filterAndSort(items, { text: '', status: '' }, { key: 'created', descending: true });
    expect(newest[0]?.id).toBe('sb0499');
    const byExpiry = filterAndSort(items, { text: '', status: '' }, { key: 'expires', descending: false });
    expect(byExpiry.at(-1)?.expiresAt).toBeNull();
    const byStatus = filterAndSort(items, { text: '', status: '' }, { key: 'status', descending: false });
    expect(byStatus[0]?.status).toBe('running');
    expect(byStatus.slice(0, 2).map((info) => info.id)).toEqual(['sb0000', 'sb0004']);
    expect(countByStatus(items)).toEqual({
      running: 125,
      stopped: 125,
      error: 125,
      creating: 125,
      paused: 0,
    });
  });

  it('handles 500 records in well under a frame', () => {
    const items = records(500);
    const started = performance.now();
    for (let i = 0; i < 20; i += 1)
      filterAndSort(items, { text: 'blue', status: '' }, { key: 'image', descending: i % 2 === 0 });
    expect((performance.now() - started) / 20).toBeLessThan(16);
  });

  it('windows a long list to the rows in view plus a margin', () => {
    expect(visibleWindow(500, 44, 0, 440, 8)).toEqual({ start: 0, end: 18, padTop: 0, padBottom: 482 * 44 });
    const middle = visibleWindow(500, 44, 44 * 100, 440, 8);
    expect(middle).toEqual({ start: 92, end: 118, padTop: 92 * 44, padBottom: 382 * 44 });
    const end = visibleWindow(500, 44, 44 * 500, 440, 8);
    expect(end.end).toBe(500);
    expect(end.padBottom).toBe(0);
    expect(visibleWindow(0, 44, 0, 440)).toEqual({ start: 0, end: 0, padTop: 0, padBottom: 0 });
  });
});
