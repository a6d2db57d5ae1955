import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { formatDoctor, requiredFailures, runDoctor } from './doctor.js';
import type { CheckResult } from './types.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'burrow-doctor-unit-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const config = (dataDir: string) =>
  loadConfig({ env: {}, flags: { data_dir: dataDir, server: { port: 0 } } });
/** A client whose engine never answers: no daemon listens on that socket. */
const noDocker = () => new Dockerode({ socketPath: join(tmpdir(), `burrow-no-docker-${process.pid}.sock`) });

describe('the doctor report', () => {
  it('formats one line a check and a summary naming the required failures', () => {
    const results: CheckResult[] = [
      { id: 'docker', status: 'fail', required: true, detail: 'Docker does not answer', fix: 'start it' },
      { id: 'runsc', status: 'warn', required: false, detail: 'not registered', fix: 'install runsc' },
      { id: 'memory', status: 'ok', required: false, detail: '20 GiB available' },
    ];
    expect(formatDoctor(results)).toBe(
      [
        '  FAIL  docker      Docker does not answer -> start it',
        '  warn  runsc       not registered -> install runsc',
        '  ok    memory      20 GiB available',
        '1 required check failed (docker): burrow serve cannot start until it is fixed',
      ].join('\n'),
    );
    expect(requiredFailures(results).map((result) => result.id)).toEqual(['docker']);
    expect(formatDoctor(results.slice(1))).toMatch(
      /\nready for burrow serve \(1 warning: optional features\)$/,
    );
  });
});

describe('host checks without the engine', () => {
  it('fails the data directory when it is a file, and warns when others can read it', async () => {
    const file = join(dir, 'not-a-dir');
    await writeFile(file, '');
    const [asFile] = await runDoctor({ config: config(file), docker: noDocker(), only: ['data-dir'] });
    expect(asFile).toMatchObject({ status: 'fail', required: true, detail: `${file} is not a directory` });

    const open = join(dir, 'open');
    await rm(open, { recursive: true, force: true });
    await mkdir(open);
    await chmod(open, 0o755);
    const [loose] = await runDoctor({ config: config(open), docker: noDocker(), only: ['data-dir'] });
    expect(loose).toMatchObject({ status: 'warn', detail: `${open} is open to other users (mode 755)` });
    expect(loose?.fix).toContain(`chmod 700 ${open}`);
  });

  it('says a missing data directory will be created', async () => {
    const fresh = join(dir, 'a', 'b');
    const [result] = await runDoctor({ config: config(fresh), docker: noDocker(), only: ['data-dir'] });
    expect(result).toMatchObject({ status: 'ok', detail: `${fresh} will be created (mode 700)` });
  });

  it('reports a Docker that does not answer as a required failure and skips the engine checks', async () => {
    const results = await runDoctor({
      config: config(dir),
      docker: noDocker(),
      only: ['docker', 'runsc', 'image', 'memory'],
      timeoutMs: 2000,
    });
    expect(results.map((result) => [result.id, result.status])).toEqual([
      ['docker', 'fail'],
      ['runsc', 'skip'],
      ['memory', 'ok'],
      ['image', 'skip'],
    ]);
    expect(results[0]?.detail).toMatch(/^Docker does not answer at unix:\/\/.*burrow-no-docker-\d+\.sock: /);
  });
});
