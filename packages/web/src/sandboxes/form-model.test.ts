import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, fieldOfError, toCreateOptions } from './form-model.js';

describe('create form model', () => {
  it('takes the isolation runtime and an egress policy, and maps their API errors back', () => {
    const { options, errors } = toCreateOptions({
      ...EMPTY_FORM,
      networkMode: 'bridge',
      runtime: 'gvisor',
      egressAllow: 'deb.debian.org\n*.example.com\n10.0.0.0/8\n',
      egressDeny: ' bad.example.com ',
    });
    expect(errors).toEqual({});
    expect(options).toMatchObject({
      networkMode: 'bridge',
      runtime: 'gvisor',
      egress: { allow: ['deb.debian.org', '*.example.com', '10.0.0.0/8'], deny: ['bad.example.com'] },
    });
    expect(toCreateOptions(EMPTY_FORM).options).not.toHaveProperty('egress');
    const more = toCreateOptions({
      ...EMPTY_FORM,
      secrets: 'api.example.com Authorization: Bearer a:b c\n',
      publicPorts: '3000, 8080 9000',
    });
    expect(more.errors).toEqual({});
    expect(more.options).toMatchObject({
      secrets: [{ host: 'api.example.com', header: 'Authorization', value: 'Bearer a:b c' }],
      publicPorts: [3000, 8080, 9000],
    });
    const bad = toCreateOptions({ ...EMPTY_FORM, secrets: 'no-header-here', publicPorts: '80, x' });
    expect(Object.keys(bad.errors).sort()).toEqual(['publicPorts', 'secrets']);
    // The message never repeats what was typed (a secret's value).
    expect(bad.errors.secrets).not.toContain('no-header-here');
    expect(fieldOfError('runtime', 'runtime: not offered here')).toBe('runtime');
    expect(fieldOfError(undefined, 'egress.allow[1]: not a host or CIDR')).toBe('egressAllow');
    expect(fieldOfError(undefined, 'egress.deny[0]: not a host or CIDR')).toBe('egressDeny');
  });

  it('turns the fields into create options', () => {
    const { options, errors } = toCreateOptions({
      ...EMPTY_FORM,
      image: ' python:3.12 ',
      timeoutSeconds: '600',
      cpus: '0.5',
      memoryMiB: '256',
      networkMode: 'none',
      cmd: 'sleep\ninfinity',
      env: 'A=1\nB=x=y',
      labels: 'team=red',
      ports: '8000:18000',
      volumes: 'cache:/cache:ro',
      tmpfs: '/scratch:64m:noexec',
      s3Bucket: 'data',
      s3Prefix: 'runs/',
    });
    expect(errors).toEqual({});
    expect(options).toEqual({
      image: 'python:3.12',
      timeoutSeconds: 600,
      cpus: 0.5,
      memoryBytes: 256 * 1024 * 1024,
      networkMode: 'none',
      cmd: ['sleep', 'infinity'],
      env: { A: '1', B: 'x=y' },
      labels: { team: 'red' },
      ports: [{ sandboxPort: 8000, hostPort: 18000 }],
      storage: {
        volumes: [{ name: 'cache', mountPath: '/cache', readOnly: true }],
        tmpfs: [{ path: '/scratch', size: '64m', options: 'noexec' }],
        s3: { bucket: 'data', mode: 'hooks', prefix: 'runs/' },
      },
    });
  });

  it('names the field of a value that does not parse', () => {
    const { errors } = toCreateOptions({
      ...EMPTY_FORM,
      memoryMiB: 'lots',
      env: 'NOEQUALS',
      ports: '80',
      pidLimit: '1.5',
    });
    expect(Object.keys(errors).sort()).toEqual(['env', 'memoryMiB', 'pidLimit', 'ports']);
  });

  it("maps the API's errors to the field they are about", () => {
    expect(fieldOfError(undefined, 'memory: 1048576 bytes is below the 6 MiB minimum (6291456)')).toBe(
      'memoryMiB',
    );
    expect(fieldOfError(undefined, 'network_mode: "x" is not a network mode')).toBe('networkMode');
    expect(fieldOfError(undefined, 'storage.s3.bucket is required')).toBe('s3Bucket');
    expect(fieldOfError(undefined, 'storage.tmpfs[0].size: too big')).toBe('tmpfs');
    expect(fieldOfError('timeout', 'invalid request body: timeout: expected number')).toBe('timeoutSeconds');
    expect(fieldOfError(undefined, 'sandbox limit reached')).toBeUndefined();
  });
});
