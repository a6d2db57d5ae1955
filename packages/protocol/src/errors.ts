/**
 * The closed list of error codes Burrow produces, and the HTTP status each maps to.
 * Every failure crossing a package boundary is a {@link BurrowError} carrying one of these codes.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  INVALID_PATH: 400,
  POLICY_VIOLATION: 400,
  IS_A_DIRECTORY: 400,
  NOT_A_DIRECTORY: 400,
  SSRF_BLOCKED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  /** The egress proxy refused a destination (the sandbox's policy, or a blocked address range). */
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
  /** No published port matches. */
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
  /** A tenant's quota (sandboxes at once, memory, CPU, snapshots) would be exceeded: details name it and the use. */
  QUOTA_EXCEEDED: 429,
  INTERNAL: 500,
  NOT_SUPPORTED: 501,
  S3_ERROR: 502,
  /** The sandbox's agent did not answer in time (it is gone, stuck or replaced). */
  AGENT_UNREACHABLE: 502,
  /** The sandbox's agent broke the protocol (oversized, malformed or unexpected frames). */
  AGENT_PROTOCOL: 502,
  /** Nothing listens on the sandbox port asked for. */
  PORT_NOT_LISTENING: 502,
  RUNTIME_UNAVAILABLE: 503,
  MEMORY_PRESSURE: 503,
  TIMEOUT: 504,
  NO_SPACE: 507,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** Extra, non-secret facts about a failure; serialised next to `error` and `code` in the body. */
export type ErrorDetails = Record<string, string | number | boolean | string[] | undefined>;

/**
 * A failure with a registered code, an HTTP status and a message that tells the caller what to change.
 *
 * @example
 * throw new BurrowError('SANDBOX_NOT_FOUND', 'sandbox not found');
 */
export class BurrowError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BurrowError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isBurrowError(error: unknown, code?: ErrorCode): error is BurrowError {
  return error instanceof BurrowError && (code === undefined || error.code === code);
}

/** The JSON body of every error response: Den's `{"error": ...}` plus Burrow's `code`. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  [detail: string]: unknown;
}

export function errorBody(error: BurrowError): ErrorBody {
  return { error: error.message, code: error.code, ...error.details };
}
