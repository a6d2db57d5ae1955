import { describe, expect, it } from 'vitest';
import { BuildProgressParser, buildFields, describeBuild } from './build-progress.js';
import { PullProgressParser } from './pull-progress.js';

const APT_STEP = `Step 4/6 : RUN set -eux;     apt-get update;     apt-get install -y --no-install-recommends python3 nodejs
 ---> Running in 2f1d3c4b5a69
+ apt-get update
Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]
Reading package lists...
The following NEW packages will be installed:
  libpython3.11-minimal python3
0 upgraded, 3 newly installed, 0 to remove and 0 not upgraded.
Need to get 5,012 kB of archives.
Get:1 http://deb.debian.org/debian bookworm/main amd64 libpython3.11-minimal amd64 3.11.2-6+deb12u2 [817 kB]
Get:2 http://deb.debian.org/debian bookworm/main amd64 python3.11-minimal amd64 3.11.2-6+deb12u2 [2,064 kB]
`;

describe('build progress', () => {
  it('follows the steps and, inside an apt step, the package of how many', () => {
    const parser = new BuildProgressParser();
    expect(describeBuild(parser.current())).toBe('starting');
    expect(parser.push('Step 1/6 : ARG BASE=debian:bookworm-slim\n')).toBe(true);
    expect(describeBuild(parser.current())).toBe('step 1/6 ARG BASE=debian:bookworm-slim');
    // Chunks split anywhere, even inside a line.
    const half = APT_STEP.length >> 1;
    parser.push(APT_STEP.slice(0, half));
    parser.push(APT_STEP.slice(half));
    expect(describeBuild(parser.current())).toBe(
      'step 4/6 RUN set -eux; apt-get update; apt-get install -…: downloading python3.11-minimal (2/3)',
    );
    parser.push('Unpacking libpython3.11-minimal:amd64 (3.11.2-6+deb12u2) ...\n');
    parser.push('Setting up libpython3.11-minimal:amd64 (3.11.2-6+deb12u2) ...\n');
    expect(describeBuild(parser.current())).toBe(
      'step 4/6 RUN set -eux; apt-get update; apt-get install -…: setting up libpython3.11-minimal (1/3)',
    );
    expect(buildFields(parser.current())).toEqual({
      step: 4,
      steps: 6,
      package: 'libpython3.11-minimal',
      packages_done: 1,
      packages_total: 3,
    });
    expect(parser.push(' ---> 8a7b6c5d4e3f\n')).toBe(false);
    parser.push('Step 5/6 : USER sandbox\n');
    expect(describeBuild(parser.current())).toBe('step 5/6 USER sandbox');
  });
});

describe('pull progress', () => {
  it('sums layers and bytes', () => {
    const parser = new PullProgressParser();
    expect(parser.push({ status: 'Pulling from library/debian', id: 'bookworm-slim' })).toBe(false);
    parser.push({ id: 'a1b2c3d4e5f6', status: 'Pulling fs layer' });
    parser.push({ id: 'f6e5d4c3b2a1', status: 'Already exists' });
    parser.push({ id: 'a1b2c3d4e5f6', status: 'Downloading', current: 1024 * 1024, total: 4 * 1024 * 1024 });
    expect(parser.describe()).toBe('1/2 layers, 1.0 MiB of 4.0 MiB');
    parser.push({ id: 'a1b2c3d4e5f6', status: 'Download complete' });
    parser.push({ id: 'a1b2c3d4e5f6', status: 'Pull complete' });
    expect(parser.fields()).toEqual({ layers_done: 2, layers: 2, bytes_done: 4194304, bytes_total: 4194304 });
  });
});
