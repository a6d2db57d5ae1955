/**
 * The vocabulary of the OpenAPI route table (openapi-routes.ts): the protocol's zod schemas by component name,
 * and the shape of one route's description.
 */
import {
  AttachClientMessage,
  AttachServerMessage,
  ProcessInfo,
  ProcessInputRequest,
  ProcessOutput,
  ResizeProcessRequest,
  SignalProcessRequest,
  StartProcessRequest,
  WaitProcessRequest,
  WatchServerMessage,
  ApiKeyInfo,
  AuditEntry,
  CreateApiKeyRequest,
  CreatedApiKey,
  CreateSandboxRequest,
  CreateSnapshotRequest,
  EgressPolicy,
  EgressState,
  PreviewSettingsRequest,
  PreviewUrl,
  ExecRequest,
  ExecResponse,
  ExecStreamClientMessage,
  ExecStreamRequest,
  ExecStreamServerMessage,
  ExtendTimeoutRequest,
  FileInfo,
  ForkRequest,
  ForkResponse,
  S3ExportRequest,
  S3ExportResponse,
  S3ImportRequest,
  S3ImportResponse,
  S3SyncReport,
  Health,
  PortMapping,
  Resources,
  Sandbox,
  SandboxStats,
  SnapshotInfo,
  StatusResponse,
  SuccessResponse,
  SystemStats,
  Unhealthy,
  Version,
  WriteFileResponse,
} from '@burrow/protocol';
import type { z } from 'zod';

export const REQUEST_SCHEMAS: Record<string, z.ZodType> = {
  CreateSandboxRequest,
  ExtendTimeoutRequest,
  ForkRequest,
  ExecRequest,
  ExecStreamRequest,
  ExecStreamClientMessage,
  CreateSnapshotRequest,
  S3ImportRequest,
  S3ExportRequest,
  StartProcessRequest,
  WaitProcessRequest,
  ProcessInputRequest,
  SignalProcessRequest,
  ResizeProcessRequest,
  AttachClientMessage,
  PreviewSettingsRequest,
  EgressPolicy,
  CreateApiKeyRequest,
};

export const RESPONSE_SCHEMAS: Record<string, z.ZodType> = {
  Sandbox,
  ForkResponse,
  StatusResponse,
  ExecResponse,
  ExecStreamServerMessage,
  FileInfo,
  WriteFileResponse,
  SuccessResponse,
  SnapshotInfo,
  SandboxStats,
  SystemStats,
  Resources,
  Health,
  Unhealthy,
  Version,
  PortMapping,
  S3ImportResponse,
  S3ExportResponse,
  S3SyncReport,
  ProcessInfo,
  ProcessOutput,
  AttachServerMessage,
  WatchServerMessage,
  PreviewUrl,
  EgressState,
  ApiKeyInfo,
  CreatedApiKey,
  AuditEntry,
};

/** A response: a component schema name, `[Name]` for an array of it, `bytes` for a raw body, or none. */
export interface ResponseSpec {
  description: string;
  schema?: string;
}

export interface RouteSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  summary: string;
  tag:
    | 'meta'
    | 'sandboxes'
    | 'exec'
    | 'processes'
    | 'files'
    | 's3'
    | 'ports'
    | 'egress'
    | 'snapshots'
    | 'stats'
    | 'admin';
  open?: boolean;
  /** Served before routing (the preview proxy), not a Fastify route. */
  raw?: boolean;
  /** `?path=`: required, or optional with a default. */
  pathQuery?: 'required' | 'optional';
  /** Other query parameters (all optional). */
  query?: { name: string; description: string; type: 'string' | 'number' | 'boolean' }[];
  /** A JSON body schema name, `bytes` (any content type, streamed) or `multipart`. */
  body?: string;
  /** The body may be left out entirely. */
  bodyOptional?: boolean;
  responses: Record<number, ResponseSpec>;
  /** Error statuses besides the ones every protected route can return (401, 429). */
  errors: number[];
}
