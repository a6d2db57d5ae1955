/** S3 storage: SSRF guard, credential resolution, clients, transfers, the `hooks` and `fuse` modes. */
export { parseEndpoint, canonicalHost, type ParsedEndpoint } from './endpoint.js';
export { classifyIp, canonicalIp, parseIp, type IpClass, type IpKind } from './ip.js';
export {
  SsrfPolicy,
  firstNeverExempt,
  resolvePinnedSet,
  systemResolver,
  type CheckedEndpoint,
  type PinnedEndpoint,
  type Resolver,
  type SsrfPolicyOptions,
} from './ssrf.js';
export {
  createPinnedAgents,
  createGuardedAgents,
  type PinnedAgentOptions,
  type PinnedAgents,
  type S3Agents,
} from './pinned-agent.js';
export {
  resolveS3,
  describeS3Config,
  describeResolvedS3,
  S3Credentials,
  GATE_B_MESSAGE,
  DEFAULT_S3_REGION,
  type ResolvedS3,
  type S3Request,
  type S3ServerConfig,
} from './credentials.js';
export {
  createS3Client,
  withS3Client,
  fromS3Error,
  type S3ClientOptions,
  type S3Connection,
  type S3ErrorContext,
} from './client.js';
export {
  importObject,
  exportObject,
  DEFAULT_MAX_TRANSFER_BYTES,
  type ExportObjectInput,
  type ImportObjectInput,
  type TransferOptions,
} from './transfer.js';
export {
  importPrefix,
  exportDirectory,
  DEFAULT_CONCURRENCY,
  type BulkTransferOptions,
  type ExportDirectoryInput,
  type ImportPrefixInput,
  type TransferFailure,
  type TransferSkip,
  type TransferSummary,
} from './bulk-transfer.js';
export { objectKey, relativePathForKey, directoryPrefix } from './keys.js';
export { bucketNameProblem, checkBucketName } from './bucket-name.js';
export {
  S3Hooks,
  DEFAULT_SYNC_PATH,
  DEFAULT_SYNC_BUDGET_MS,
  type S3HooksOptions,
  type SyncDirection,
  type SyncReport,
  type SyncRunOptions,
} from './hooks.js';
export { S3FuseMounts, s3fsAvailable, type S3FuseMountsOptions } from './fuse.js';
