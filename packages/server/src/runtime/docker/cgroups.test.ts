/** The cgroup reader on fake cgroup v1 and v2 trees (this host runs v1; v2 is found by detection). */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Cgroups, detectCgroupVersion, psiSomeAvg10, statValue } from './cgroups.js';

const root = mkdtempSync(join(tmpdir(), 'burrow-cgroups-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CID = 'a'.repeat(64);

function tree(name: string, files: Record<string, string>): string {
  const base = join(root, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(base, path, '..'), { recursive: true });
    writeFileSync(join(base, path), content);
  }
  return base;
}

describe('Cgroups', () => {
  it('reads a cgroup v1 container: usage, soft limit, major faults; unlimited reads 0', async () => {
    const base = tree('v1', {
      'sys/memory/memory.usage_in_bytes': '1\n',
      [`sys/memory/docker/${CID}/memory.usage_in_bytes`]: '52428800\n',
      [`sys/memory/docker/${CID}/memory.soft_limit_in_bytes`]: '9223372036854771712\n',
      [`sys/memory/docker/${CID}/memory.stat`]: 'cache 0\npgmajfault 3\ntotal_pgmajfault 7\n',
    });
    const cgroups = new Cgroups({ root: join(base, 'sys'), proc: join(base, 'proc') });
    expect(cgroups.version).toBe('v1');
    const dir = await cgroups.memoryDir(CID, 0);
    expect(dir).toBe(join(base, 'sys', 'memory', 'docker', CID));
    expect(await cgroups.read(dir ?? '')).toEqual({ usage: 52428800, softLimit: 0, majorFaults: 7 });
    await cgroups.writeSoftLimit(dir ?? '', 134217728);
    expect((await cgroups.read(dir ?? '')).softLimit).toBe(134217728);
    await cgroups.writeSoftLimit(dir ?? '', 0);
    expect(readFileSync(join(dir ?? '', 'memory.soft_limit_in_bytes'), 'utf8')).toBe('-1');
    expect(await cgroups.memoryDir('not-a-container-id', 0)).toBeUndefined();
  });

  it("finds a cgroup v2 container through its process's cgroup, reads memory.pressure, writes memory.high", async () => {
    const scope = `system.slice/docker-${CID}.scope`;
    const base = tree('v2', {
      'sys/cgroup.controllers': 'memory pids\n',
      [`sys/${scope}/memory.current`]: '1048576\n',
      [`sys/${scope}/memory.high`]: 'max\n',
      [`sys/${scope}/memory.pressure`]:
        'some avg10=2.50 avg60=1.00 avg300=0.10 total=100\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n',
      [`sys/${scope}/memory.stat`]: 'anon 1\npgmajfault 11\n',
      'proc/4242/cgroup': `0::/${scope}\n`,
    });
    const cgroups = new Cgroups({ root: join(base, 'sys'), proc: join(base, 'proc') });
    expect(cgroups.version).toBe('v2');
    const dir = await cgroups.memoryDir(CID, 4242);
    expect(dir).toBe(join(base, 'sys', scope));
    expect(await cgroups.read(dir ?? '')).toEqual({
      usage: 1048576,
      softLimit: 0,
      stallPercent: 2.5,
      majorFaults: 11,
    });
    await cgroups.writeHigh(dir ?? '', 64 * 1024 * 1024);
    expect(readFileSync(join(dir ?? '', 'memory.high'), 'utf8')).toBe(String(64 * 1024 * 1024));
    expect((await cgroups.read(dir ?? '')).softLimit).toBe(64 * 1024 * 1024);
    await cgroups.writeHigh(dir ?? '', 0);
    expect(readFileSync(join(dir ?? '', 'memory.high'), 'utf8')).toBe('max');
  });

  it('ignores a process cgroup path that climbs out, and reports none where there is no cgroup fs', async () => {
    const base = tree('hostile', {
      'sys/cgroup.controllers': 'memory\n',
      'proc/7/cgroup': '0::/../../etc\n',
    });
    const cgroups = new Cgroups({ root: join(base, 'sys'), proc: join(base, 'proc') });
    expect(await cgroups.memoryDir(CID, 7)).toBeUndefined();
    expect(detectCgroupVersion(join(root, 'nothing-here'))).toBe('none');
  });

  it('parses stat keys and PSI lines defensively', () => {
    expect(statValue('a 1\nb x\n', 'b')).toBeUndefined();
    expect(statValue(undefined, 'a')).toBeUndefined();
    expect(psiSomeAvg10('full avg10=1.00')).toBeUndefined();
    expect(psiSomeAvg10('some avg10=12.25 avg60=1')).toBe(12.25);
  });
});
