/**
 * Failures on this side of the wire: the server could not be reached, the caller aborted, or a deadline passed.
 * They are a family of their own (not {@link BurrowError}) because the server never saw or never answered the call.
 */

/**
 * Base of the local failures.
 *
 * @example
 * try { await burrow.list(); } catch (e) { if (e instanceof BurrowClientError) console.error('local:', e.message); }
 */
export class BurrowClientError extends Error {
  /** `CONNECTION_FAILED`, `ABORTED` or `CLIENT_TIMEOUT`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The server could not be reached (connection refused, DNS failure, reset before a response).
 *
 * @example
 * if (error instanceof ConnectionError) console.error(`${error.url} is down: ${error.message}`);
 */
export class ConnectionError extends BurrowClientError {
  /** The base URL that was tried. */
  readonly url: string;

  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super('CONNECTION_FAILED', message, options);
    this.url = url;
  }

  /** The server did not answer at all: the message names the URL and how to start a server. */
  static unreachable(url: string, reason: string, options?: { cause?: unknown }): ConnectionError {
    return new ConnectionError(
      url,
      `cannot reach the Burrow server at ${url} (${reason}): is \`burrow serve\` running?`,
      options,
    );
  }
}

/**
 * The caller's `AbortSignal` fired before the call finished.
 *
 * @example
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 1000);
 * await sandbox.commands.run('sleep 10', { signal: controller.signal }).catch((e) => e instanceof AbortedError);
 */
export class AbortedError extends BurrowClientError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super('ABORTED', message, options);
  }
}

/**
 * The client's own deadline (`timeoutMs`) passed before the server answered.
 *
 * @example
 * const burrow = new Burrow({ timeoutMs: 5_000 });
 * await burrow.list().catch((e) => { if (e instanceof TimeoutError) console.error('server too slow'); });
 */
export class TimeoutError extends BurrowClientError {
  /** The deadline that passed, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, what = 'request') {
    super('CLIENT_TIMEOUT', `${what} timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

/** A short reason for a network failure, from fetch's `cause` chain or a socket error's `code`. */
export function networkReason(error: unknown): string {
  let current: unknown = error;
  let message = error instanceof Error ? error.message : String(error);
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    // The innermost message is the most specific one ("bad port" rather than "fetch failed").
    if (current instanceof Error && current.message !== '') message = current.message;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && REASONS[code] !== undefined) return REASONS[code];
    if (typeof code === 'string' && code !== '') return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors) && errors.length > 0) {
      current = errors[0];
      continue;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return message;
}
