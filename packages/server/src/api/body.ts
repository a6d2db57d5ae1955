/**
 * JSON request bodies, decoded as leniently as Den's Go decoder: any Content-Type, unknown fields ignored, `null`
 * fields meaning "not given", field names matched case-insensitively, a `null` body meaning `{}`. An empty body is
 * an error where Den requires one (clients must send at least `{}`). Every failure is a 400 naming the field.
 */
import { BurrowError } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route reads no body, so any body (even invalid JSON) is dropped unparsed. */
    ignoreBody?: boolean;
  }
}

function rejectProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new SyntaxError('"__proto__" is not allowed as a key');
  return value;
}

/** A media type's `type/subtype` as HTTP's token grammar allows it (what Fastify accepts). */
const MEDIA_TYPE = /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+$/;

/**
 * Den never looks at Content-Type, so a malformed or empty one must not cost a request its body: it is treated as
 * `application/octet-stream` (which every route's parser takes) instead of Fastify's 415.
 */
export function lenientContentType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const essence = header.split(';')[0]?.trim() ?? '';
  return MEDIA_TYPE.test(essence) ? header : 'application/octet-stream';
}

/** Installs the JSON parser for every content type on `app` (bodies capped by the app's `bodyLimit`). */
export function installJsonParser(app: FastifyInstance): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers['content-type'];
    const lenient = lenientContentType(header);
    if (lenient !== header) request.headers['content-type'] = lenient;
    done();
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const buffer = body as Buffer;
    if (request.routeOptions.config.ignoreBody === true || request.is404 || buffer.length === 0) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(buffer.toString('utf8'), rejectProtoKeys));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      done(new BurrowError('BAD_REQUEST', `invalid request body: not valid JSON (${reason})`), undefined);
    }
  });
}

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  in?: z.ZodType;
  innerType?: z.ZodType;
  element?: z.ZodType;
}

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** The object/array schema under optional/nullable/pipe wrappers. */
function unwrap(schema: z.ZodType): ZodDef {
  let def = defOf(schema);
  for (let depth = 0; depth < 10; depth += 1) {
    const inner = def.type === 'pipe' ? def.in : def.innerType;
    if (inner === undefined) break;
    def = defOf(inner);
  }
  return def;
}

/** Renames keys that match a schema field case-insensitively (exact matches win), recursively. */
export function canonicalKeys(value: unknown, schema: z.ZodType): unknown {
  const def = unwrap(schema);
  if (def.type === 'array' && def.element !== undefined && Array.isArray(value)) {
    const element = def.element;
    return value.map((item) => canonicalKeys(item, element));
  }
  if (
    def.type !== 'object' ||
    def.shape === undefined ||
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value)
  ) {
    return value;
  }
  const shape = def.shape;
  const byLowerCase = new Map(Object.keys(shape).map((key) => [key.toLowerCase(), key]));
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    const name = Object.hasOwn(shape, key) ? key : byLowerCase.get(key.toLowerCase());
    if (name === undefined) continue;
    if (Object.hasOwn(out, name) && name !== key) continue;
    const fieldSchema = shape[name];
    out[name] = fieldSchema === undefined ? field : canonicalKeys(field, fieldSchema);
  }
  return out;
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, key) =>
      typeof key === 'number' ? `${text}[${key}]` : text === '' ? String(key) : `${text}.${String(key)}`,
    '',
  );
}

/** The first problem of a failed parse, as `<field>: <what is wrong>`. */
export function describeIssues(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (issue === undefined) return { field: '', message: 'invalid value' };
  const field = issuePath(issue.path);
  const message = issue.message.replace(/^Invalid input: /, '');
  return { field, message: field === '' ? message : `${field}: ${message}` };
}

export interface ReadBodyOptions {
  /** Den requires a body (at least `{}`) on most routes; Burrow also accepts none where it says so. */
  allowEmpty: boolean;
}

/** Validates a parsed JSON body against a protocol schema. */
export function readBody<S extends z.ZodType>(
  schema: S,
  body: unknown,
  options: ReadBodyOptions,
): z.output<S> {
  if (body === undefined && !options.allowEmpty) {
    throw new BurrowError(
      'BAD_REQUEST',
      'invalid request body: the body is empty: send a JSON object (at least {})',
    );
  }
  const value = body ?? {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new BurrowError(
      'BAD_REQUEST',
      `invalid request body: expected a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  const result = schema.safeParse(canonicalKeys(value, schema));
  if (!result.success) {
    const { field, message } = describeIssues(result.error);
    throw new BurrowError(
      'BAD_REQUEST',
      `invalid request body: ${message}`,
      field === '' ? undefined : { field },
    );
  }
  return result.data;
}
