/**
 * Errors the server reported, rebuilt from the `code` in its `{"error", "code", ...details}` body. Each class
 * matches a family of codes so callers can `catch` by meaning instead of comparing strings.
 */

/** Extra facts the server sent next to `error` and `code` (e.g. `sandbox_id`, `path`). */
export type ErrorDetails = Record<string, unknown>;

/**
 * A failure reported by the Burrow server: `code` is one of the protocol's error codes (e.g. `SANDBOX_NOT_FOUND`),
 * `status` the HTTP status, `message` the server's text.
 *
 * @example
 * try {
 *   await burrow.get('nope');
 * } catch (error) {
 *   if (error instanceof BurrowError) console.error(error.code, error.status, error.message);
 * }
 */
export class BurrowError extends Error {
  /** The server's error code, e.g. `SANDBOX_NOT_FOUND`; `HTTP_<status>` when the body carried none. */
  readonly code: string;
  /** The HTTP status of the response. */
  readonly status: number;
  /** Everything else the error body carried. */
  readonly details: ErrorDetails;

  constructor(code: string, status: number, message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

/**
 * Something named in the request does not exist (404).
 *
 * @example
 * if (error instanceof NotFoundError) console.log('gone already');
 */
export class NotFoundError extends BurrowError {}

/**
 * The sandbox id is unknown to the server (`SANDBOX_NOT_FOUND`).
 *
 * @example
 * await burrow.get(id).catch((e) => { if (e instanceof SandboxNotFoundError) return null; throw e; });
 */
export class SandboxNotFoundError extends NotFoundError {}

/**
 * The snapshot id is unknown to the server (`SNAPSHOT_NOT_FOUND`).
 *
 * @example
 * await burrow.snapshots.delete(id).catch((e) => { if (!(e instanceof SnapshotNotFoundError)) throw e; });
 */
export class SnapshotNotFoundError extends NotFoundError {}

/**
 * The path does not exist inside the sandbox (`FILE_NOT_FOUND`).
 *
 * @example
 * const text = await sandbox.files.readText('/tmp/maybe').catch((e) => (e instanceof FileNotFoundError ? '' : Promise.reject(e)));
 */
export class FileNotFoundError extends NotFoundError {}

/**
 * The background process is unknown to the sandbox (`PROCESS_NOT_FOUND`): a wrong id, or an exited process the
 * sandbox no longer keeps (it keeps the last 64).
 *
 * @example
 * await sandbox.processes.get(id).catch((e) => { if (e instanceof ProcessNotFoundError) return null; throw e; });
 */
export class ProcessNotFoundError extends NotFoundError {}

/**
 * The API key is missing or wrong (401).
 *
 * @example
 * if (error instanceof AuthenticationError) console.error('set BURROW_API_KEY');
 */
export class AuthenticationError extends BurrowError {}

/**
 * The key is valid but the operation is not allowed, or the target is read-only (403).
 *
 * @example
 * if (error instanceof PermissionDeniedError) console.error(error.message);
 */
export class PermissionDeniedError extends BurrowError {}

/**
 * Too many requests, the sandbox limit is reached, or a tenant quota would be exceeded (429; `QUOTA_EXCEEDED`
 * carries `quota`, `limit` and `used` in `details`). `retryAfterSeconds` comes from `Retry-After`.
 *
 * @example
 * if (error instanceof RateLimitError) await new Promise((r) => setTimeout(r, (error.retryAfterSeconds ?? 1) * 1000));
 */
export class RateLimitError extends BurrowError {
  /** Seconds the server asked the client to wait, when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    details: ErrorDetails = {},
    retryAfterSeconds?: number,
  ) {
    super(code, status, message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The request was malformed or broke a policy (400, 413, 415): the message says what to change.
 *
 * @example
 * await burrow.create({ networkMode: 'bridge' }).catch((e) => { if (e instanceof ValidationError) console.error(e.message); });
 */
export class ValidationError extends BurrowError {}

/**
 * The request conflicts with the sandbox's state (409).
 *
 * @example
 * if (error instanceof ConflictError) await sandbox.refresh();
 */
export class ConflictError extends BurrowError {}

/**
 * The sandbox exists but is not running (`SANDBOX_NOT_RUNNING`): start it first.
 *
 * @example
 * await sandbox.commands.run('true').catch(async (e) => { if (e instanceof SandboxNotRunningError) await sandbox.start(); });
 */
export class SandboxNotRunningError extends ConflictError {}

/**
 * The server failed (5xx): retrying may help; the server log has the details.
 *
 * @example
 * if (error instanceof ServerError && error.status === 503) console.error('server busy:', error.message);
 */
export class ServerError extends BurrowError {}

type ErrorClass = new (code: string, status: number, message: string, details?: ErrorDetails) => BurrowError;

/** Codes with a class of their own; the rest fall back on their status family. */
const BY_CODE: Record<string, ErrorClass> = {
  SANDBOX_NOT_FOUND: SandboxNotFoundError,
  SNAPSHOT_NOT_FOUND: SnapshotNotFoundError,
  FILE_NOT_FOUND: FileNotFoundError,
  PROCESS_NOT_FOUND: ProcessNotFoundError,
  SANDBOX_NOT_RUNNING: SandboxNotRunningError,
};

/**
 * A small copy of the protocol's code → status table, so errors that arrive without an HTTP status (WebSocket
 * `error` messages) still get the right class.
 */
const STATUS_BY_CODE: Record<string, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  INVALID_PATH: 400,
  POLICY_VIOLATION: 400,
  IS_A_DIRECTORY: 400,
  NOT_A_DIRECTORY: 400,
  SSRF_BLOCKED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  EGRESS_DENIED: 403,
  PERMISSION_DENIED: 403,
  READ_ONLY: 403,
  S3_ACCESS_DENIED: 403,
  SANDBOX_NOT_FOUND: 404,
  SNAPSHOT_NOT_FOUND: 404,
  PROCESS_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  IMAGE_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  S3_NOT_FOUND: 404,
  PORT_NOT_PUBLISHED: 404,
  METHOD_NOT_ALLOWED: 405,
  SANDBOX_NOT_RUNNING: 409,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  REQUEST_TIMEOUT: 408,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  SANDBOX_LIMIT_REACHED: 429,
  QUOTA_EXCEEDED: 429,
  INTERNAL: 500,
  NOT_SUPPORTED: 501,
  S3_ERROR: 502,
  AGENT_UNREACHABLE: 502,
  AGENT_PROTOCOL: 502,
  PORT_NOT_LISTENING: 502,
  RUNTIME_UNAVAILABLE: 503,
  MEMORY_PRESSURE: 503,
  TIMEOUT: 504,
  NO_SPACE: 507,
};

/**
 * The HTTP status the protocol assigns to `code` (500 for unknown codes).
 *
 * @example
 * statusForCode('SANDBOX_NOT_RUNNING'); // 409
 */
export function statusForCode(code: string): number {
  return STATUS_BY_CODE[code] ?? 500;
}

function classFor(code: string, status: number): ErrorClass {
  const byCode = BY_CODE[code];
  if (byCode !== undefined) return byCode;
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionDeniedError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 400 || status === 405 || status === 413 || status === 415 || status === 422)
    return ValidationError;
  if (status >= 500) return ServerError;
  return BurrowError;
}

export interface ErrorInput {
  status: number;
  code?: string | undefined;
  message: string;
  details?: ErrorDetails;
  retryAfterSeconds?: number | undefined;
}

/**
 * Builds the typed error for a server failure.
 *
 * @example
 * const error = errorFromCode({ status: 404, code: 'SANDBOX_NOT_FOUND', message: 'sandbox not found' });
 * error instanceof SandboxNotFoundError; // true
 */
export function errorFromCode(input: ErrorInput): BurrowError {
  const code = input.code ?? `HTTP_${input.status}`;
  const details = input.details ?? {};
  if (input.status === 429)
    return new RateLimitError(code, input.status, input.message, details, input.retryAfterSeconds);
  const ErrorType = classFor(code, input.status);
  return new ErrorType(code, input.status, input.message, details);
}

/**
 * Seconds from a `Retry-After` header (delta-seconds or an HTTP date).
 *
 * @example
 * parseRetryAfter('3'); // 3
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * Parses an error response body (JSON `{"error","code",...}`, Den's JSON-as-text, or plain text) into a typed error.
 *
 * @example
 * const error = errorFromBody(404, '{"error":"sandbox not found","code":"SANDBOX_NOT_FOUND"}', null);
 */
export function errorFromBody(
  status: number,
  text: string,
  retryAfter: string | null,
  statusText = '',
): BurrowError {
  let message = text.trim() === '' ? statusText || `HTTP ${status}` : text.trim();
  let code: string | undefined;
  let details: ErrorDetails = {};
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      const { error, code: bodyCode, ...rest } = body as Record<string, unknown>;
      if (typeof error === 'string') message = error;
      if (typeof bodyCode === 'string') code = bodyCode;
      details = rest;
    }
  } catch {
    // Not JSON: keep the text as the message.
  }
  return errorFromCode({ status, code, message, details, retryAfterSeconds: parseRetryAfter(retryAfter) });
}
