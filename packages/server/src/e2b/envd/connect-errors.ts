/** Burrow's errors as Connect errors, with the codes E2B's SDKs turn into their own error classes. */
import { Code, ConnectError } from '@connectrpc/connect';
import { isBurrowError, type ErrorCode } from '@burrow/protocol';

const CODES: Partial<Record<ErrorCode, Code>> = {
  BAD_REQUEST: Code.InvalidArgument,
  VALIDATION_FAILED: Code.InvalidArgument,
  INVALID_PATH: Code.InvalidArgument,
  IS_A_DIRECTORY: Code.InvalidArgument,
  NOT_A_DIRECTORY: Code.InvalidArgument,
  POLICY_VIOLATION: Code.InvalidArgument,
  UNAUTHORIZED: Code.Unauthenticated,
  FORBIDDEN: Code.PermissionDenied,
  PERMISSION_DENIED: Code.PermissionDenied,
  READ_ONLY: Code.PermissionDenied,
  SANDBOX_NOT_FOUND: Code.Unavailable,
  SANDBOX_NOT_RUNNING: Code.Unavailable,
  PROCESS_NOT_FOUND: Code.NotFound,
  FILE_NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  CONFLICT: Code.FailedPrecondition,
  PAYLOAD_TOO_LARGE: Code.ResourceExhausted,
  NO_SPACE: Code.ResourceExhausted,
  NOT_SUPPORTED: Code.Unimplemented,
  TIMEOUT: Code.DeadlineExceeded,
  AGENT_UNREACHABLE: Code.Unavailable,
  AGENT_PROTOCOL: Code.Internal,
  RUNTIME_UNAVAILABLE: Code.Unavailable,
};

/** A Connect error for anything a handler throws; unknown errors keep their message out of the response. */
export function toConnectError(error: unknown): ConnectError {
  if (error instanceof ConnectError) return error;
  if (isBurrowError(error)) return new ConnectError(error.message, CODES[error.code] ?? Code.Internal);
  return new ConnectError('internal error', Code.Internal, undefined, undefined, error);
}
