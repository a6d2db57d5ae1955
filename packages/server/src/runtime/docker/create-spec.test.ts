/** The container spec's S3 FUSE bind: the only host bind a sandbox gets besides the agent's. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TMPFS } from '../../storage/tmpfs.js';
import type { SandboxConfig } from '../runtime.js';
import { containerSpec, type SpecContext } from './create-spec.js';
import { LABEL } from './labels.js';

const context: SpecContext = {
  imageDefaults: { user: 'sandbox', entrypoint: [], cmd: ['sleep', 'infinity'] },
  networkName: 'burrow-internal',
  defaultTmpfs: DEFAULT_TMPFS,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  instance: 'test',
};

function fuseConfig(mountPath: string): SandboxConfig {
  return {
    image: 'img',
    storage: { s3: { bucket: 'b', mode: 'fuse', mountPath, accessKey: 'AK', secretKey: 'SK' } },
    s3FuseBind: { hostDir: '/var/lib/burrow/s3/s3fs/mounts/abc', mountPath },
  };
}

describe('the S3 FUSE bind', () => {
  it('binds the host mount directory read-write with slave propagation, kept off the config label', () => {
    const spec = containerSpec('abc', fuseConfig('/mnt/bucket'), context);
    expect(spec.HostConfig?.Mounts).toContainEqual({
      Type: 'bind',
      Source: '/var/lib/burrow/s3/s3fs/mounts/abc',
      Target: '/mnt/bucket',
      ReadOnly: false,
      BindOptions: { Propagation: 'rslave' },
    });
    const label = spec.Labels?.[LABEL.config] ?? '';
    expect(label).not.toContain('s3FuseBind');
    expect(label).not.toContain('/var/lib/burrow');
    expect(label).not.toMatch(/"(AK|SK)"/);
    expect(spec.HostConfig?.CapAdd).not.toContain('SYS_ADMIN');
    expect(spec.HostConfig?.Devices ?? []).toEqual([]);
  });

  it('replaces a tmpfs mount at the same path', () => {
    const spec = containerSpec('abc', fuseConfig('/home/sandbox'), context);
    expect(Object.keys(spec.HostConfig?.Tmpfs ?? {})).not.toContain('/home/sandbox');
    expect(Object.keys(spec.HostConfig?.Tmpfs ?? {})).toContain('/tmp');
  });

  it('refuses reserved targets and binds without fuse mode', () => {
    expect(() => containerSpec('abc', fuseConfig('/'), context)).toThrow(/reserved/);
    expect(() => containerSpec('abc', fuseConfig('/.burrow/run'), context)).toThrow(/reserved/);
    const hooks = fuseConfig('/mnt/x');
    hooks.storage = { s3: { bucket: 'b', mode: 'hooks' } };
    expect(() => containerSpec('abc', hooks, context)).toThrow(/storage.s3.mode "fuse"/);
  });

  it('adds no host bind without it', () => {
    const spec = containerSpec('abc', { image: 'img' }, context);
    expect((spec.HostConfig?.Mounts ?? []).filter((mount) => mount.Type === 'bind')).toEqual([]);
  });
});
