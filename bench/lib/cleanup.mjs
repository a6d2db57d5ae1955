/**
 * Everything the bench creates in Docker carries a label with the run's id (baselines) or the bench server's
 * instance id (Burrow), so the end of a run finds what was left behind (a leak: reported, and it fails the run)
 * and one sweep removes it — after a failure, Ctrl-C or a crash of the server too.
 */
import { execFileSync } from 'node:child_process';

export const RUN_LABEL = 'burrow-bench.run';

function docker(args) {
  try {
    return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function ids(args) {
  return docker(args)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** Containers and images with the label that still exist, as "container <name>" / "image <tags>". */
export function leftovers(label) {
  const containers = ids(['ps', '-a', '--filter', `label=${label}`, '--format', '{{.Names}} ({{.Status}})']);
  const images = ids([
    'images',
    '--filter',
    `label=${label}`,
    '--format',
    '{{.Repository}}:{{.Tag}} {{.ID}}',
  ]);
  return [
    ...containers.map((name) => `container ${name} [${label}]`),
    ...images.map((image) => `image ${image} [${label}]`),
  ];
}

/** Removes containers, then images, then networks with the label; returns how many things it removed. */
export function sweep(label) {
  let removed = 0;
  const containers = ids(['ps', '-aq', '--filter', `label=${label}`]);
  for (let i = 0; i < containers.length; i += 50) {
    docker(['rm', '-f', '-v', ...containers.slice(i, i + 50)]);
  }
  removed += containers.length;
  const images = [...new Set(ids(['images', '-q', '--filter', `label=${label}`]))];
  if (images.length > 0) docker(['rmi', '-f', ...images]);
  removed += images.length;
  return removed;
}

/**
 * Removes the bench server's own networks (`<prefix>-internal`, `<prefix>-bridge`, and more of a series) once nothing
 * uses them. Returns the names Docker refused to remove (`refused`: a leak), and apart from them the networks that
 * hold no container but that Docker still counts endpoints on (`stale`). Docker 20.10 was seen to keep such a count
 * after runs that removed hundreds of containers: its own bookkeeping, which only a dockerd restart clears; nothing
 * of the run is attached to them.
 */
export function removeNetworks(prefix) {
  const refused = [];
  const stale = [];
  for (const name of ids(['network', 'ls', '--format', '{{.Name}}']).filter((entry) =>
    entry.startsWith(`${prefix}-`),
  )) {
    try {
      execFileSync('docker', ['network', 'rm', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const message = String(error.stderr ?? error.message).trim();
      const attached = docker(['network', 'inspect', '-f', '{{len .Containers}}', name]);
      if (/active endpoints/.test(message) && attached === '0') stale.push(name);
      else refused.push(`${name}: ${message}`);
    }
  }
  return { refused, stale };
}
