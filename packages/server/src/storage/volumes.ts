import { BurrowError } from '@burrow/protocol';
import type { VolumeMount } from '../runtime/runtime.js';
import { sandboxPathString } from '../runtime/paths.js';

export const VOLUME_PREFIX = 'burrow-';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$/;

/** The Docker volume name behind a user-facing volume name. */
export function dockerVolumeName(name: string): string {
  return `${VOLUME_PREFIX}${name}`;
}

export function checkVolumeName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new BurrowError(
      'POLICY_VIOLATION',
      `storage.volumes: name "${name}" is not valid: use 2-64 characters, letters, digits, "_", "." or "-", starting with a letter or digit`,
    );
  }
  if (name.toLowerCase().startsWith(VOLUME_PREFIX)) {
    throw new BurrowError(
      'POLICY_VIOLATION',
      `storage.volumes: name "${name}" may not start with "${VOLUME_PREFIX}" (reserved)`,
    );
  }
}

/** Validates a sandbox's volume list: names, mount paths, no duplicates. Returns normalised mounts. */
export function checkVolumes(volumes: readonly VolumeMount[], maxVolumes: number): VolumeMount[] {
  if (volumes.length > maxVolumes) {
    throw new BurrowError(
      'POLICY_VIOLATION',
      `storage.volumes: at most ${maxVolumes} volumes per sandbox, got ${volumes.length}`,
    );
  }
  const names = new Set<string>();
  const paths = new Set<string>();
  return volumes.map((volume) => {
    checkVolumeName(volume.name);
    const mountPath = sandboxPathString(volume.mountPath, `storage.volumes ${volume.name} mount_path`);
    if (mountPath === '/')
      throw new BurrowError('POLICY_VIOLATION', `storage.volumes ${volume.name}: cannot mount over /`);
    if (names.has(volume.name))
      throw new BurrowError('POLICY_VIOLATION', `storage.volumes: volume "${volume.name}" is listed twice`);
    if (paths.has(mountPath))
      throw new BurrowError('POLICY_VIOLATION', `storage.volumes: two volumes are mounted at ${mountPath}`);
    names.add(volume.name);
    paths.add(mountPath);
    return { name: volume.name, mountPath, readOnly: volume.readOnly };
  });
}
