/** `GET /api/v1/openapi.json`: an OpenAPI 3.1 document generated from the protocol's zod schemas. */
import { ERROR_CODES, ERROR_STATUS } from '@burrow/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { ROUTE_SPECS } from './openapi-routes.js';
import { REQUEST_SCHEMAS, RESPONSE_SCHEMAS, type ResponseSpec, type RouteSpec } from './openapi-spec.js';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Json;
  return rest;
}

const ref = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

function schemaOf(name: string): Json {
  const array = /^\[(\w+)\]$/.exec(name);
  return array?.[1] !== undefined ? { type: 'array', items: ref(array[1]) } : ref(name);
}

function responseOf(response: ResponseSpec): Json {
  if (response.schema === undefined) return { description: response.description };
  if (response.schema === 'bytes') {
    return {
      description: response.description,
      content: {
        'application/octet-stream': {
          schema: { type: 'string', contentMediaType: 'application/octet-stream' },
        },
      },
    };
  }
  return {
    description: response.description,
    content: { 'application/json': { schema: schemaOf(response.schema) } },
  };
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (the message says what to change)',
  401: 'Missing or invalid API key',
  403: 'Forbidden: an admin route without an admin key (for S3: the keys were refused)',
  404: 'Not found',
  409: 'Conflict: the sandbox is not running, (processes) no stdin to write to or no terminal to resize, (ports) the host port is taken',
  413: 'Body too large',
  429: 'Rate limited (see Retry-After), sandbox limit reached, or a tenant quota would be exceeded (QUOTA_EXCEEDED)',
  501: 'Not supported',
  502: 'The S3 service failed or could not be reached, or nothing listens on the sandbox port',
  503: 'Runtime unavailable or host under memory pressure',
};

function requestBodyOf(spec: RouteSpec): Json | undefined {
  if (spec.body === undefined) return undefined;
  const required = spec.bodyOptional !== true;
  if (spec.body === 'bytes')
    return {
      required,
      content: { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } },
    };
  if (spec.body === 'multipart') {
    const form = {
      type: 'object',
      properties: {
        path: { type: 'string' },
        file: { type: 'string', contentMediaType: 'application/octet-stream' },
      },
      required: ['file'],
    };
    return { required: true, content: { 'multipart/form-data': { schema: form } } };
  }
  return { required, content: { 'application/json': { schema: ref(spec.body) } } };
}

function operationOf(spec: RouteSpec): Json {
  const parameters: Json[] = [...spec.path.matchAll(/\{(\w+)\}/g)].map((match) => ({
    name: match[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
  if (spec.pathQuery !== undefined) {
    parameters.push({
      name: 'path',
      in: 'query',
      required: spec.pathQuery === 'required',
      description: 'Absolute path in the sandbox, percent-encoded (any bytes but NUL)',
      schema: { type: 'string' },
    });
  }
  for (const query of spec.query ?? []) {
    parameters.push({
      name: query.name,
      in: 'query',
      required: false,
      description: query.description,
      schema: { type: query.type },
    });
  }
  const responses: Json = Object.fromEntries(
    Object.entries(spec.responses).map(([status, response]) => [status, responseOf(response)]),
  );
  for (const status of [...spec.errors, ...(spec.open === true ? [429] : [401, 429])]) {
    responses[String(status)] ??= {
      description: ERROR_DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/json': { schema: ref('Error') } },
    };
  }
  const operation: Json = {
    summary: spec.summary,
    tags: [spec.tag],
    operationId: `${spec.method}${spec.path.replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    parameters,
    responses,
  };
  const body = requestBodyOf(spec);
  if (body !== undefined) operation.requestBody = body;
  if (spec.open === true) operation.security = [];
  return operation;
}

export function buildOpenApi(version: string): Json {
  const schemas: Json = {
    Error: {
      type: 'object',
      properties: { error: { type: 'string' }, code: { type: 'string', enum: ERROR_CODES } },
      required: ['error', 'code'],
      description: `Every error. Statuses by code: ${ERROR_CODES.map((code) => `${code} ${ERROR_STATUS[code]}`).join(', ')}`,
    },
  };
  for (const [name, schema] of Object.entries(REQUEST_SCHEMAS)) schemas[name] = jsonSchema(schema, 'input');
  for (const [name, schema] of Object.entries(RESPONSE_SCHEMAS)) schemas[name] = jsonSchema(schema, 'output');
  const paths: Record<string, Json> = {};
  for (const spec of ROUTE_SPECS) (paths[spec.path] ??= {})[spec.method] = operationOf(spec);
  return {
    openapi: '3.1.0',
    info: { title: 'Burrow API', version, description: "Den-compatible sandbox API with Burrow's additions" },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }, { bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
  };
}

export function openApiRoute(app: FastifyInstance, context: ApiContext): void {
  const document = buildOpenApi(context.version.version);
  app.get('/api/v1/openapi.json', () => document);
}
