import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isBurrowError } from '@burrow/protocol';
import {
  describeS3Config,
  GATE_B_MESSAGE,
  resolveS3,
  S3Credentials,
  type S3ServerConfig,
} from './credentials.js';

const server: S3ServerConfig = {
  endpoint: 'http://minio:9000',
  region: 'eu-west-1',
  accessKey: 'SERVERACCESSKEY',
  secretKey: 'server-secret-key',
  allowInternalEndpoint: false,
};

function error(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (caught) {
    if (isBurrowError(caught)) return { code: caught.code, message: caught.message };
    throw caught;
  }
  throw new Error('expected an error');
}

describe('resolveS3 (den-api §14.4)', () => {
  it('falls back to the server configuration', () => {
    const resolved = resolveS3({ bucket: 'bkt' }, server);
    expect(resolved).toMatchObject({
      endpoint: 'http://minio:9000',
      bucket: 'bkt',
      prefix: '',
      region: 'eu-west-1',
    });
    expect(resolved.credentials.reveal()).toEqual({
      accessKeyId: 'SERVERACCESSKEY',
      secretAccessKey: 'server-secret-key',
    });
  });

  it('prefers request values; empty strings count as absent', () => {
    const resolved = resolveS3(
      {
        bucket: 'bkt',
        prefix: 'p/',
        endpoint: 'https://s3.example.com',
        region: 'us-west-2',
        accessKey: 'REQKEY',
        secretKey: 'req-secret',
      },
      server,
    );
    expect(resolved).toMatchObject({ endpoint: 'https://s3.example.com', prefix: 'p/', region: 'us-west-2' });
    expect(resolved.credentials.reveal()).toEqual({ accessKeyId: 'REQKEY', secretAccessKey: 'req-secret' });
    const blanks = resolveS3(
      { bucket: 'bkt', endpoint: '', region: '', accessKey: '', secretKey: '' },
      server,
    );
    expect(blanks.endpoint).toBe('http://minio:9000');
    expect(blanks.region).toBe('eu-west-1');
    expect(blanks.credentials.reveal().accessKeyId).toBe('SERVERACCESSKEY');
  });

  it('defaults the region to us-east-1 and the endpoint to AWS', () => {
    const resolved = resolveS3(
      { bucket: 'bkt' },
      { region: '', accessKey: 'k', secretKey: 's', allowInternalEndpoint: false },
    );
    expect(resolved.region).toBe('us-east-1');
    expect(resolved.endpoint).toBeUndefined();
  });

  it('requires a bucket, an access key and a secret key, in that order', () => {
    const bare: S3ServerConfig = { region: 'us-east-1', allowInternalEndpoint: false };
    expect(error(() => resolveS3({}, bare))).toEqual({
      code: 'VALIDATION_FAILED',
      message: 'S3 bucket is required',
    });
    expect(error(() => resolveS3({ bucket: '' }, server)).message).toBe('S3 bucket is required');
    expect(error(() => resolveS3({ bucket: 'bkt' }, bare)).message).toBe('S3 access key is required');
    expect(error(() => resolveS3({ bucket: 'bkt', accessKey: 'k' }, bare)).message).toBe(
      'S3 secret key is required',
    );
    expect(error(() => resolveS3({ bucket: 'bkt', secretKey: 's' }, bare)).message).toBe(
      'S3 access key is required',
    );
  });

  it('refuses a malformed region', () => {
    expect(error(() => resolveS3({ bucket: 'bkt', region: 'us-east-1.evil.com/' }, server)).message).toMatch(
      /region .* is not valid/,
    );
  });

  it('Gate B: an endpoint override is refused while the exemption is on, before anything else', () => {
    const exempt: S3ServerConfig = { ...server, allowInternalEndpoint: true };
    expect(error(() => resolveS3({ endpoint: 'http://other:9000' }, exempt))).toEqual({
      code: 'POLICY_VIOLATION',
      message: GATE_B_MESSAGE,
    });
    expect(GATE_B_MESSAGE).toBe(
      'per-sandbox S3 endpoint override is refused while storage.s3.allow_internal_endpoint is enabled (the internal-endpoint exemption is pinned to the single server-configured endpoint)',
    );
    expect(resolveS3({ bucket: 'bkt', endpoint: 'http://minio:9000' }, exempt).endpoint).toBe(
      'http://minio:9000',
    );
    expect(resolveS3({ bucket: 'bkt', endpoint: '' }, exempt).endpoint).toBe('http://minio:9000');
    expect(resolveS3({ bucket: 'bkt', endpoint: 'http://other:9000' }, server).endpoint).toBe(
      'http://other:9000',
    );
  });
});

describe('secrets stay secret', () => {
  it('describeS3Config names every field and masks the keys', () => {
    const text = describeS3Config({ ...server, allowInternalEndpoint: true });
    for (const field of ['endpoint', 'region', 'access_key', 'secret_key', 'allow_internal_endpoint'])
      expect(text).toContain(`${field}:`);
    expect(text).not.toContain('SERVERACCESSKEY');
    expect(text).not.toContain('server-secret-key');
    expect(text).toContain('access_key: ***');
    expect(text).toContain('"http://minio:9000"');
    expect(text).toContain('"eu-west-1"');
    expect(text).toContain('allow_internal_endpoint: true');
    expect(describeS3Config({ region: 'us-east-1', allowInternalEndpoint: false })).toBe(
      'S3Config{endpoint: (empty), region: "us-east-1", access_key: (empty), secret_key: (empty), allow_internal_endpoint: false}',
    );
  });

  it('S3Credentials masks itself in JSON, inspect and strings', () => {
    const credentials = new S3Credentials('AKIAVISIBLE', 'hidden-secret');
    const resolved = resolveS3(
      { bucket: 'bkt', accessKey: 'AKIAVISIBLE', secretKey: 'hidden-secret' },
      server,
    );
    for (const text of [
      JSON.stringify(credentials),
      JSON.stringify(resolved),
      inspect(resolved, { depth: 5 }),
      `${String(credentials)}`,
    ]) {
      expect(text).not.toContain('AKIAVISIBLE');
      expect(text).not.toContain('hidden-secret');
    }
    expect(Object.keys(credentials)).toEqual([]);
  });
});
