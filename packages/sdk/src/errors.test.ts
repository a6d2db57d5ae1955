import { describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  BurrowError,
  ConflictError,
  FileNotFoundError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  SandboxNotFoundError,
  SandboxNotRunningError,
  ServerError,
  SnapshotNotFoundError,
  ValidationError,
  errorFromBody,
  errorFromCode,
  parseRetryAfter,
  statusForCode,
} from './errors.js';
import { ConnectionError, networkReason } from './client-errors.js';

describe('errorFromCode', () => {
  it.each([
    ['SANDBOX_NOT_FOUND', 404, SandboxNotFoundError],
    ['SNAPSHOT_NOT_FOUND', 404, SnapshotNotFoundError],
    ['FILE_NOT_FOUND', 404, FileNotFoundError],
    ['IMAGE_NOT_FOUND', 404, NotFoundError],
    ['UNAUTHORIZED', 401, AuthenticationError],
    ['READ_ONLY', 403, PermissionDeniedError],
    ['VALIDATION_FAILED', 400, ValidationError],
    ['INVALID_PATH', 400, ValidationError],
    ['PAYLOAD_TOO_LARGE', 413, ValidationError],
    ['SANDBOX_NOT_RUNNING', 409, SandboxNotRunningError],
    ['CONFLICT', 409, ConflictError],
    ['RATE_LIMITED', 429, RateLimitError],
    ['SANDBOX_LIMIT_REACHED', 429, RateLimitError],
    ['INTERNAL', 500, ServerError],
    ['MEMORY_PRESSURE', 503, ServerError],
  ])('%s -> %s', (code, status, type) => {
    const error = errorFromCode({ status, code, message: 'boom', details: { sandbox_id: 'x' } });
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(BurrowError);
    expect(error).toMatchObject({
      code,
      status,
      message: 'boom',
      details: { sandbox_id: 'x' },
      name: type.name,
    });
  });

  it('falls back on the status family for codes it does not know', () => {
    expect(errorFromCode({ status: 404, code: 'SOMETHING_NEW', message: 'x' })).toBeInstanceOf(NotFoundError);
    expect(errorFromCode({ status: 502, message: 'x' })).toMatchObject({ code: 'HTTP_502' });
    expect(errorFromCode({ status: 418, message: 'x' }).constructor).toBe(BurrowError);
  });

  it('subclasses keep their families', () => {
    const error = errorFromCode({ status: 409, code: 'SANDBOX_NOT_RUNNING', message: 'x' });
    expect(error).toBeInstanceOf(ConflictError);
    expect(errorFromCode({ status: 404, code: 'SANDBOX_NOT_FOUND', message: 'x' })).toBeInstanceOf(
      NotFoundError,
    );
  });

  it('knows the protocol statuses of codes (for WebSocket errors)', () => {
    expect(statusForCode('SANDBOX_NOT_FOUND')).toBe(404);
    expect(statusForCode('SANDBOX_NOT_RUNNING')).toBe(409);
    expect(statusForCode('NEVER_HEARD_OF_IT')).toBe(500);
  });
});

describe('errorFromBody', () => {
  it('reads Burrow bodies with details', () => {
    const error = errorFromBody(
      404,
      '{"error":"sandbox not found","code":"SANDBOX_NOT_FOUND","sandbox_id":"abc"}',
      null,
    );
    expect(error).toBeInstanceOf(SandboxNotFoundError);
    expect(error.details).toEqual({ sandbox_id: 'abc' });
  });

  it("reads Den's JSON-as-text bodies without a code", () => {
    const error = errorFromBody(401, '{"error":"invalid API key"}\n', null);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toBe('invalid API key');
    expect(error.code).toBe('HTTP_401');
  });

  it('keeps plain text, or the status text when the body is empty', () => {
    expect(errorFromBody(404, '404 page not found\n', null).message).toBe('404 page not found');
    expect(errorFromBody(500, '', null, 'Internal Server Error').message).toBe('Internal Server Error');
  });

  it('carries Retry-After on 429', () => {
    const error = errorFromBody(429, '{"error":"slow down","code":"RATE_LIMITED"}', '3');
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterSeconds).toBe(3);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10);
  });
});

describe('ConnectionError', () => {
  it('names the URL and how to start a server', () => {
    const error = ConnectionError.unreachable('http://127.0.0.1:9', 'connection refused');
    expect(error.message).toBe(
      'cannot reach the Burrow server at http://127.0.0.1:9 (connection refused): is `burrow serve` running?',
    );
    expect(error.url).toBe('http://127.0.0.1:9');
  });

  it("finds the reason in fetch's cause chain", () => {
    const failure = new TypeError('fetch failed', {
      cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
    });
    expect(networkReason(failure)).toBe('connection refused');
    const aggregate = new TypeError('fetch failed', { cause: { errors: [{ code: 'ECONNREFUSED' }] } });
    expect(networkReason(aggregate)).toBe('connection refused');
  });
});
