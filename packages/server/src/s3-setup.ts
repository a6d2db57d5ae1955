/**
 * The server's S3 pieces from its configuration (for main.ts): the SSRF policy with the `s3.endpoint` exemption, the
 * server credentials, the transfer limits and, when this process can run s3fs (root), the host-side FUSE mounts.
 * Logs the S3 configuration with its keys masked.
 */
import { join } from 'node:path';
import type { Config } from './config.js';
import type { S3SyncOptions } from './engine/s3-sync.js';
import type { Logger } from './logger.js';
import { describeS3Config, S3FuseMounts, SsrfPolicy, type S3ServerConfig } from './storage/s3/index.js';

export async function s3Storage(
  config: Config,
  logger: Logger,
  /** The search path s3fs runs with (the server's own, from config.ts). */
  searchPath?: string,
): Promise<Omit<S3SyncOptions, 'runtime' | 'store'>> {
  const server: S3ServerConfig = {
    endpoint: config.s3.endpoint,
    region: config.s3.region,
    accessKey: config.s3.access_key,
    secretKey: config.s3.secret_key,
    allowInternalEndpoint: config.s3.allow_internal_endpoint,
  };
  const policy = new SsrfPolicy({
    allowInternalEndpoint: server.allowInternalEndpoint,
    serverEndpoint: server.endpoint,
  });
  logger.info({ s3: describeS3Config(server) }, 'S3 configuration');
  if (server.allowInternalEndpoint) {
    logger.warn(
      { endpoint: server.endpoint },
      's3.allow_internal_endpoint is on: the configured s3.endpoint may be an internal address (and only it)',
    );
  }
  // A refused or unresolvable server endpoint is reported now; every S3 call using it fails with the same reason.
  await policy
    .checkServerEndpoint()
    .catch((error: unknown) => logger.error({ err: error }, 's3.endpoint is not usable'));

  // Mounts are made by this process; only root can. They are set up even when allow_s3_fuse is off, so the mounts
  // of sandboxes created while it was on keep working (and are cleaned up).
  let fuse: S3FuseMounts | undefined;
  if (process.getuid?.() === 0) {
    fuse = new S3FuseMounts({
      stateDir: join(config.data_dir, 's3'),
      policy,
      logger,
      ...(searchPath === undefined ? {} : { searchPath }),
    });
    if (config.sandbox.allow_s3_fuse) {
      const available = await fuse.available();
      if (!available.ok)
        logger.error(
          { reason: available.reason },
          'sandbox.allow_s3_fuse is on but S3 FUSE mounts cannot work',
        );
    }
  } else if (config.sandbox.allow_s3_fuse) {
    logger.error(
      {},
      'sandbox.allow_s3_fuse is on but S3 FUSE mounts need Burrow to run as root: mode "fuse" will be refused',
    );
  }
  return {
    server,
    policy,
    logger,
    allowS3: config.sandbox.allow_s3,
    maxTransferBytes: config.s3.max_transfer_bytes,
    syncBudgetMs: config.s3.sync_timeout,
    ...(fuse === undefined ? {} : { fuse }),
  };
}
