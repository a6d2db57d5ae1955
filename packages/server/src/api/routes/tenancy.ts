/**
 * Admin routes of a shared server: stored API keys (create, shown once; list; revoke at once) and the audit log.
 * Only admin keys reach them (`access: 'admin'`); a server that keeps no state for them answers 501.
 */
import { BurrowError, CreateApiKeyRequest, type ApiKeyInfo, type AuditEntry } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import type { Auditor } from '../../engine/audit.js';
import type { KeyService } from '../../engine/keys.js';
import type { AuditFilter, AuditRecord, KeyRecord } from '../../store/store.js';
import { readBody } from '../body.js';
import type { ApiContext } from '../context.js';
import { rfc3339 } from '../wire.js';

export interface TenancyAdmin {
  keys: KeyService;
  auditor: Auditor;
}

export function keyToWire(record: KeyRecord): ApiKeyInfo {
  const wire: ApiKeyInfo = {
    id: record.id,
    name: record.name,
    tenant: record.tenant,
    admin: record.admin,
    prefix: record.prefix,
    created_at: rfc3339(record.createdAt),
    created_by: record.createdBy,
  };
  if (record.expiresAt !== undefined) wire.expires_at = rfc3339(record.expiresAt);
  if (record.lastUsedAt !== undefined) wire.last_used_at = rfc3339(record.lastUsedAt);
  if (record.revokedAt !== undefined) wire.revoked_at = rfc3339(record.revokedAt);
  return wire;
}

export function auditToWire(record: AuditRecord): AuditEntry {
  const wire: AuditEntry = {
    id: record.id ?? 0,
    at: rfc3339(record.at),
    key_id: record.keyId,
    key_name: record.keyName,
    tenant: record.tenant,
    action: record.action,
    outcome: record.outcome,
  };
  if (record.sandboxId !== undefined) wire.sandbox_id = record.sandboxId;
  if (record.detail !== undefined) wire.detail = record.detail;
  if (record.address !== undefined) wire.address = record.address;
  return wire;
}

const MAX_AUDIT_ENTRIES = 10_000;

/** `GET /audit`'s query: `sandbox`, `key` (a name), `tenant`, `action`, `since` (RFC 3339) and `limit`. */
function auditFilter(query: Record<string, unknown>): AuditFilter {
  const text = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string')
      throw new BurrowError('VALIDATION_FAILED', `${name}: give it once`, { field: name });
    return value;
  };
  const limitText = text('limit');
  const limit = limitText === undefined ? 100 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_ENTRIES) {
    throw new BurrowError('VALIDATION_FAILED', `limit: give a whole number from 1 to ${MAX_AUDIT_ENTRIES}`, {
      field: 'limit',
    });
  }
  const filter: AuditFilter = { limit };
  const sinceText = text('since');
  if (sinceText !== undefined) {
    const since = new Date(sinceText);
    if (!/^\d{4}-\d{2}-\d{2}/.test(sinceText) || Number.isNaN(since.getTime())) {
      throw new BurrowError(
        'VALIDATION_FAILED',
        `since: "${sinceText}" is not a time: use RFC 3339, e.g. 2026-05-01T00:00:00Z`,
        { field: 'since' },
      );
    }
    filter.since = since;
  }
  const sandboxId = text('sandbox');
  if (sandboxId !== undefined) filter.sandboxId = sandboxId;
  const keyName = text('key');
  if (keyName !== undefined) filter.keyName = keyName;
  const tenant = text('tenant');
  if (tenant !== undefined) filter.tenant = tenant;
  const action = text('action');
  if (action !== undefined) filter.action = action;
  return filter;
}

export function tenancyRoutes(app: FastifyInstance, context: ApiContext): void {
  const admin = { config: { access: 'admin' as const } };
  const state = (): TenancyAdmin => {
    if (context.tenancy === undefined)
      throw new BurrowError('NOT_SUPPORTED', 'this server keeps no API keys or audit log');
    return context.tenancy;
  };

  app.get('/api/v1/keys', admin, () => state().keys.list().map(keyToWire));

  app.post('/api/v1/keys', admin, (request, reply) => {
    const body = readBody(CreateApiKeyRequest, request.body, { allowEmpty: false });
    const { record, key } = state().keys.create({
      name: body.name,
      tenant: body.tenant,
      admin: body.admin,
      expiresInMs: body.expires_in === undefined ? undefined : body.expires_in * 1000,
      format: body.format,
      createdBy: request.caller?.keyName ?? 'unknown',
    });
    return reply.code(201).send({ ...keyToWire(record), key });
  });

  app.delete<{ Params: { id: string } }>(
    '/api/v1/keys/:id',
    { config: { access: 'admin', ignoreBody: true } },
    (request) => keyToWire(state().keys.revoke(request.params.id)),
  );

  app.get('/api/v1/audit', admin, (request) =>
    state()
      .auditor.list(auditFilter(request.query as Record<string, unknown>))
      .map(auditToWire),
  );
}
