/**
 * What reaches s3fs's command line (s3fs runs as root on the host): S3-valid bucket names only, options only from
 * the allowlist, no value that could smuggle in a second option.
 */
import { describe, expect, it } from 'vitest';
import { bucketNameProblem, checkBucketName } from './bucket-name.js';
import { s3fsArgs } from './s3fs.js';

const INJECTIONS = [
  '-obucket=etc,use_cache=/',
  '-o',
  '--',
  'a,use_cache=/',
  'bucket -o allow_other',
  'Bucket',
  'my_bucket',
  'a',
  'x'.repeat(64),
  '.bucket',
  'bucket-',
  'my..bucket',
  '192.168.5.4',
  'xn--bucket',
  'bucket-s3alias',
  'bucket/../etc',
  'bucket\nx',
  '',
];

describe('S3 bucket names', () => {
  it.each(INJECTIONS)('refuses %j with a 400 naming it', (name) => {
    expect(bucketNameProblem(name)).toBeDefined();
    expect(() => checkBucketName(name)).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        message: expect.stringContaining(`${JSON.stringify(name)} is not a valid S3 bucket name`) as string,
      }),
    );
  });

  it.each(['abc', 'my-bucket', 'my.bucket.example', 'b-1.2-3', 'x'.repeat(63), '1bucket'])(
    'accepts %j',
    (name) => {
      expect(bucketNameProblem(name)).toBeUndefined();
    },
  );
});

describe("s3fs's argv", () => {
  const options = [
    ['passwd_file', '/data/s3/private/sb/passwd'],
    ['url', 'http://127.0.0.1:9000'],
    ['use_path_request_style'],
    ['allow_other'],
    ['uid', '1000'],
  ] as const;

  it('is the allowed options, then the bucket with its prefix and the mount directory', () => {
    expect(
      s3fsArgs({ bucket: 'my-bucket', prefix: 'work/dir', mountDir: '/data/s3/mounts/sb', options }),
    ).toEqual([
      '-o',
      'passwd_file=/data/s3/private/sb/passwd',
      '-o',
      'url=http://127.0.0.1:9000',
      '-o',
      'use_path_request_style',
      '-o',
      'allow_other',
      '-o',
      'uid=1000',
      'my-bucket:/work/dir',
      '/data/s3/mounts/sb',
    ]);
    expect(s3fsArgs({ bucket: 'my-bucket', prefix: '', mountDir: '/m', options: [] })).toEqual([
      'my-bucket',
      '/m',
    ]);
  });

  it('refuses a bucket that would be read as options', () => {
    expect(() =>
      s3fsArgs({ bucket: '-obucket=etc,use_cache=/', prefix: '', mountDir: '/m', options }),
    ).toThrow(/is not a valid S3 bucket name/);
  });

  it('passes no option outside the allowlist, and no value that adds one', () => {
    expect(() =>
      s3fsArgs({ bucket: 'abc', prefix: '', mountDir: '/m', options: [['use_cache', '/']] }),
    ).toThrow(/not one Burrow passes/);
    expect(() =>
      s3fsArgs({ bucket: 'abc', prefix: '', mountDir: '/m', options: [['url', 'http://x,use_cache=/']] }),
    ).toThrow(/may not contain ","/);
    expect(() => s3fsArgs({ bucket: 'abc', prefix: '', mountDir: 'relative', options: [] })).toThrow(
      /absolute/,
    );
  });
});
