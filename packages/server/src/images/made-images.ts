/** The images Burrow made on a Docker host (`burrow image ls`), found by their `burrow.*` labels. */
import Dockerode from 'dockerode';
import { LABEL } from '../runtime/docker/labels.js';

export interface MadeImage {
  /** The first tag, or `<untagged>` (a removed snapshot a restored sandbox still uses). */
  image: string;
  /** Short image id. */
  id: string;
  /** `default`, `debian-base`, `snapshot of <sandbox>`, or `test`. */
  kind: string;
  size: number;
  created: Date;
}

/** Picks Burrow's images out of Docker's list. */
export function madeImages(images: Dockerode.ImageInfo[]): MadeImage[] {
  const made: MadeImage[] = [];
  for (const info of images) {
    const labels = info.Labels ?? {};
    let kind: string | undefined;
    if (labels[LABEL.snapshot] === 'true') kind = `snapshot of ${labels[LABEL.snapshotSandbox] ?? '?'}`;
    else if (labels['burrow.image'] !== undefined) kind = labels['burrow.image'];
    else if (labels['burrow.test-image'] === 'true') kind = 'test';
    if (kind === undefined) continue;
    const tags = (info.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>');
    made.push({
      image: tags[0] ?? '<untagged>',
      id: info.Id.replace(/^sha256:/, '').slice(0, 12),
      kind,
      size: info.Size,
      created: new Date(info.Created * 1000),
    });
  }
  return made.sort((a, b) => a.image.localeCompare(b.image));
}

export async function listMadeImages(docker: Dockerode = new Dockerode()): Promise<MadeImage[]> {
  return madeImages(await docker.listImages());
}
