/**
 * Building S3 clients and translating their failures. Every client dials through SSRF-checked agents: pinned to the
 * endpoint's vetted address for custom endpoints, per-connection checked for AWS. S3 failures become BurrowErrors
 * in one place ({@link fromS3Error}) with messages that say what to change and never contain keys.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { BurrowError } from '@burrow/protocol';
import type { ResolvedS3 } from './credentials.js';
import { createGuardedAgents, createPinnedAgents, type S3Agents } from './pinned-agent.js';
import type { PinnedEndpoint, SsrfPolicy } from './ssrf.js';

export interface S3ClientOptions {
  /** TCP connect timeout; default 10 s. */
  connectionTimeoutMs?: number;
  /** Socket idle timeout during a request; default 60 s. */
  idleTimeoutMs?: number;
  /** Attempts per request (the SDK retries transient failures); default 3. */
  maxAttempts?: number;
  /** Extra CA certificates (PEM) for endpoints with a private CA. */
  ca?: string | Buffer | Array<string | Buffer>;
}

export interface S3ErrorContext {
  bucket?: string | undefined;
  key?: string | undefined;
}

/** An S3 client bound to one resolved target. Call `destroy()` when done (closes pooled sockets). */
export interface S3Connection {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  /** `host:port` of the endpoint (or `AWS S3`), for messages. */
  readonly endpointLabel: string;
  /** The vetted address connections go to, for custom endpoints. */
  readonly pinned: PinnedEndpoint | undefined;
  /** {@link fromS3Error} with this connection's endpoint, scrubbing its keys from any message. */
  error(error: unknown, context?: S3ErrorContext): BurrowError;
  destroy(): void;
}

const ignore = (): void => undefined;
const QUIET_LOGGER = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

/** Builds the S3 client for a resolved target; custom endpoints are resolved and pinned now (SSRF_BLOCKED if refused). */
export async function createS3Client(
  resolved: ResolvedS3,
  policy: SsrfPolicy,
  options: S3ClientOptions = {},
): Promise<S3Connection> {
  const agentOptions = options.ca === undefined ? {} : { ca: options.ca };
  let agents: S3Agents;
  let pinned: PinnedEndpoint | undefined;
  if (resolved.endpoint === undefined) {
    agents = createGuardedAgents(policy, agentOptions);
  } else {
    const pinnedAgents = await createPinnedAgents(policy, resolved.endpoint, agentOptions);
    agents = pinnedAgents;
    pinned = pinnedAgents.endpoint;
  }
  const keys = resolved.credentials.reveal();
  const custom =
    pinned === undefined
      ? {}
      : {
          endpoint: pinned.url,
          forcePathStyle: true,
          // S3-compatible servers differ in support for the newer default checksums (aws-chunked trailers); send them
          // only where an operation requires them.
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        };
  const client = new S3Client({
    region: resolved.region,
    credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
    followRegionRedirects: false,
    // Failures are mapped and reported by the caller; without a logger the SDK prints some of them to the console.
    logger: QUIET_LOGGER,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: new NodeHttpHandler({
      httpAgent: agents.httpAgent,
      httpsAgent: agents.httpsAgent,
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      requestTimeout: options.idleTimeoutMs ?? 60_000,
    }),
    ...custom,
  });
  const endpointLabel = pinned?.authority ?? 'AWS S3';
  const secrets = [keys.accessKeyId, keys.secretAccessKey];
  return {
    client,
    bucket: resolved.bucket,
    prefix: resolved.prefix,
    endpointLabel,
    pinned,
    error: (error, context = {}) => fromS3Error(error, { ...context, endpoint: endpointLabel, secrets }),
    destroy: () => {
      client.destroy();
      agents.destroy();
    },
  };
}

/** Runs `fn` with a fresh client and always destroys it. */
export async function withS3Client<T>(
  resolved: ResolvedS3,
  policy: SsrfPolicy,
  fn: (connection: S3Connection) => Promise<T>,
  options: S3ClientOptions = {},
): Promise<T> {
  const connection = await createS3Client(resolved, policy, options);
  try {
    return await fn(connection);
  } finally {
    connection.destroy();
  }
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'Forbidden',
  'InvalidToken',
  'ExpiredToken',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
}

function scrub(text: string, secrets: readonly string[]): string {
  return secrets
    .filter((secret) => secret.length >= 4)
    .reduce((out, secret) => out.split(secret).join('***'), text);
}

/**
 * Maps an S3 (or network) failure to a BurrowError: access problems → S3_ACCESS_DENIED, missing bucket or key →
 * S3_NOT_FOUND, aborts → TIMEOUT, everything else (network included) → S3_ERROR naming the endpoint host.
 * BurrowErrors (SSRF refusals from the agents, size limits) pass through unchanged.
 */
export function fromS3Error(
  error: unknown,
  context: S3ErrorContext & { endpoint: string; secrets?: readonly string[] },
): BurrowError {
  if (error instanceof BurrowError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : 'Error';
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const status = shape.$metadata?.httpStatusCode;
  const secrets = context.secrets ?? [];
  const bucket = context.bucket ?? '';
  const object = context.key === undefined ? `bucket ${bucket}` : `s3://${bucket}/${context.key}`;
  const cause = { cause: error };
  if (ACCESS_DENIED.has(name) || status === 403) {
    return new BurrowError(
      'S3_ACCESS_DENIED',
      `S3 at ${context.endpoint} denied access to ${object} (${name}): check access_key and secret_key, and that they may use this bucket`,
      { s3_error: name },
      cause,
    );
  }
  if (name === 'NoSuchBucket') {
    return new BurrowError(
      'S3_NOT_FOUND',
      `bucket ${bucket} does not exist at ${context.endpoint}: create it or check the bucket name`,
      { s3_error: name },
      cause,
    );
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new BurrowError(
      'S3_NOT_FOUND',
      `${object} does not exist: check the bucket and key`,
      { s3_error: name },
      cause,
    );
  }
  if (name === 'AbortError' || code === 'ABORT_ERR') {
    return new BurrowError(
      'TIMEOUT',
      `S3 transfer with ${context.endpoint} was cancelled (time budget exceeded or request aborted)`,
      undefined,
      cause,
    );
  }
  if (status === undefined && (name === 'TimeoutError' || (code !== undefined && NETWORK_CODES.has(code)))) {
    return new BurrowError(
      'S3_ERROR',
      `could not reach the S3 endpoint ${context.endpoint} (${code ?? name}): check that it is running and reachable from the server`,
      { s3_error: code ?? name },
      cause,
    );
  }
  const detail =
    typeof shape.message === 'string' && shape.message !== ''
      ? `: ${scrub(shape.message, secrets).slice(0, 300)}`
      : '';
  return new BurrowError(
    'S3_ERROR',
    `S3 request to ${context.endpoint} for ${object} failed (${name}${status === undefined ? '' : `, HTTP ${status}`})${detail}`,
    { s3_error: name },
    cause,
  );
}
