/**
 * Which endpoint, bucket, region and keys an S3 operation uses: the request's (or sandbox's) values first, then
 * the server's `s3.*` configuration. Keys never appear in messages, logs or JSON: {@link S3Credentials} masks
 * itself, and {@link describeS3Config} prints configuration for startup logs with the keys masked.
 */
import { inspect } from 'node:util';
import { BurrowError } from '@burrow/protocol';
import { checkBucketName } from './bucket-name.js';

/** The server's `s3.*` configuration. */
export interface S3ServerConfig {
  endpoint?: string;
  region: string;
  accessKey?: string;
  secretKey?: string;
  /** `s3.allow_internal_endpoint`: exempt the single configured endpoint from the SSRF guard's internal-address ban. */
  allowInternalEndpoint: boolean;
}

/** What a request (s3-import / s3-export) or a sandbox's `storage.s3` supplies; empty strings count as absent. */
export interface S3Request {
  endpoint?: string | undefined;
  bucket?: string | undefined;
  prefix?: string | undefined;
  region?: string | undefined;
  accessKey?: string | undefined;
  secretKey?: string | undefined;
}

export const DEFAULT_S3_REGION = 'us-east-1';

const MASK = '***';
const EMPTY = '(empty)';

/** A key pair that cannot leak by accident: JSON, `util.inspect` and string conversion all show `***`. */
export class S3Credentials {
  readonly #accessKeyId: string;
  readonly #secretAccessKey: string;

  constructor(accessKeyId: string, secretAccessKey: string) {
    this.#accessKeyId = accessKeyId;
    this.#secretAccessKey = secretAccessKey;
  }

  /** The plain values, for the S3 client and the s3fs password file only. */
  reveal(): { accessKeyId: string; secretAccessKey: string } {
    return { accessKeyId: this.#accessKeyId, secretAccessKey: this.#secretAccessKey };
  }

  toJSON(): { accessKeyId: string; secretAccessKey: string } {
    return { accessKeyId: MASK, secretAccessKey: MASK };
  }

  toString(): string {
    return `S3Credentials{access_key: ${MASK}, secret_key: ${MASK}}`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export interface ResolvedS3 {
  /** Custom endpoint (request or server); undefined means AWS. */
  endpoint: string | undefined;
  bucket: string;
  /** Key prefix; '' when none. */
  prefix: string;
  region: string;
  credentials: S3Credentials;
}

export const GATE_B_MESSAGE =
  'per-sandbox S3 endpoint override is refused while storage.s3.allow_internal_endpoint is enabled (the internal-endpoint exemption is pinned to the single server-configured endpoint)';

function given(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

const REGION = /^[a-z0-9][a-z0-9-]{0,62}$/i;

/**
 * Resolves request values against the server configuration (den-api §14.4). Order of checks: Gate B (an endpoint
 * override while the internal-endpoint exemption is on), bucket, region, access key, secret key.
 */
export function resolveS3(request: S3Request, server: S3ServerConfig): ResolvedS3 {
  const requestEndpoint = given(request.endpoint);
  if (
    server.allowInternalEndpoint &&
    requestEndpoint !== undefined &&
    requestEndpoint !== (server.endpoint ?? '')
  ) {
    throw new BurrowError('POLICY_VIOLATION', GATE_B_MESSAGE);
  }
  const bucket = given(request.bucket);
  if (bucket === undefined) throw new BurrowError('VALIDATION_FAILED', 'S3 bucket is required');
  checkBucketName(bucket);
  const region = given(request.region) ?? given(server.region) ?? DEFAULT_S3_REGION;
  if (!REGION.test(region)) {
    throw new BurrowError(
      'VALIDATION_FAILED',
      `S3 region ${JSON.stringify(region)} is not valid: use a region name such as us-east-1`,
    );
  }
  const accessKey = given(request.accessKey) ?? given(server.accessKey);
  if (accessKey === undefined) throw new BurrowError('VALIDATION_FAILED', 'S3 access key is required');
  const secretKey = given(request.secretKey) ?? given(server.secretKey);
  if (secretKey === undefined) throw new BurrowError('VALIDATION_FAILED', 'S3 secret key is required');
  return {
    endpoint: requestEndpoint ?? given(server.endpoint),
    bucket,
    prefix: request.prefix ?? '',
    region,
    credentials: new S3Credentials(accessKey, secretKey),
  };
}

function mask(value: string | undefined): string {
  return value === undefined || value === '' ? EMPTY : MASK;
}

/** One line for startup logs: every field named, keys shown only as `(empty)` or `***`. */
export function describeS3Config(config: S3ServerConfig): string {
  const endpoint =
    config.endpoint === undefined || config.endpoint === '' ? EMPTY : JSON.stringify(config.endpoint);
  return (
    `S3Config{endpoint: ${endpoint}, region: ${JSON.stringify(config.region)}, access_key: ${mask(config.accessKey)}, ` +
    `secret_key: ${mask(config.secretKey)}, allow_internal_endpoint: ${String(config.allowInternalEndpoint)}}`
  );
}

/** A resolved target for logs: endpoint, bucket, prefix and region, never the keys. */
export function describeResolvedS3(resolved: ResolvedS3): Record<string, string> {
  return {
    endpoint: resolved.endpoint ?? '(aws)',
    bucket: resolved.bucket,
    prefix: resolved.prefix,
    region: resolved.region,
  };
}
