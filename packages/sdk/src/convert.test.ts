import { describe, expect, it } from 'vitest';
import { createRequestToWire, sandboxFromWire, sandboxToWire } from './convert.js';

describe('convert', () => {
  it('maps create options to the wire', () => {
    expect(
      createRequestToWire({
        image: 'img',
        timeoutSeconds: 90.2,
        cpus: 0.5,
        memoryBytes: 512 * 1024 ** 2,
        networkMode: 'none',
        labels: { a: 'b' },
        ports: [{ sandboxPort: 80, hostPort: 8080 }],
        storage: {
          volumes: [{ name: 'v', mountPath: '/data', readOnly: true }],
          s3: { bucket: 'b', mode: 'hooks', syncPath: '/x' },
        },
        writableRootfs: true,
      }),
    ).toEqual({
      image: 'img',
      timeout: 91,
      cpu: 500_000_000,
      memory: 536_870_912,
      network_mode: 'none',
      labels: { a: 'b' },
      ports: [{ sandbox_port: 80, host_port: 8080 }],
      storage: {
        volumes: [{ name: 'v', mount_path: '/data', read_only: true }],
        s3: { bucket: 'b', mode: 'hooks', sync_path: '/x' },
      },
      writable_rootfs: true,
    });
    expect(createRequestToWire({})).toEqual({});
  });

  it('reads sandboxes, with the zero time as "never expires"', () => {
    const info = sandboxFromWire({
      id: 'a',
      image: 'i',
      status: 'running',
      created_at: '2026-01-01T00:00:00Z',
      expires_at: '0001-01-01T00:00:00Z',
    });
    expect(info).toEqual({
      id: 'a',
      image: 'i',
      status: 'running',
      createdAt: new Date('2026-01-01T00:00:00Z'),
      expiresAt: null,
      ports: [],
      labels: {},
    });
    expect(sandboxToWire(info)).toEqual({
      id: 'a',
      image: 'i',
      status: 'running',
      created_at: '2026-01-01T00:00:00.000Z',
      expires_at: '0001-01-01T00:00:00Z',
    });
  });
});
