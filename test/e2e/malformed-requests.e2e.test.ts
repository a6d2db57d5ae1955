/**
 * Bad input of every kind against a real `burrow serve`: each answer is a 4xx whose JSON body has a message that
 * says what to change and a `code`, and the server keeps serving afterwards.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Burrow, type Sandbox } from '@burrow/sdk';
import { removeInstance, spawnServer, type ChildServer } from '../support/child-server.js';
import { makeDataDir } from '../support/server.js';

interface Case {
  name: string;
  method: string;
  /** `:id` is replaced by a live sandbox's id. */
  path: string;
  body?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  message: RegExp;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const BIG = `{"env":{"A":"${'x'.repeat(2 * 1024 * 1024)}"}}`;

// A table reads best one case per line.
// prettier-ignore
const CASES: Case[] = [
  // Bodies that are not what the route reads.
  { name: 'bad JSON', method: 'POST', path: '/api/v1/sandboxes', body: '{bad json', status: 400, code: 'BAD_REQUEST', message: /not valid JSON/ },
  { name: 'empty body', method: 'POST', path: '/api/v1/sandboxes', status: 400, code: 'BAD_REQUEST', message: /send a JSON object \(at least \{\}\)/ },
  { name: 'array body', method: 'POST', path: '/api/v1/sandboxes', body: '[1,2]', status: 400, code: 'BAD_REQUEST', message: /expected a JSON object, got an array/ },
  { name: 'body over 1 MiB', method: 'POST', path: '/api/v1/sandboxes', body: BIG, status: 413, code: 'PAYLOAD_TOO_LARGE', message: /exceeds the 1048576 byte limit/ },
  { name: 'prototype key', method: 'POST', path: '/api/v1/sandboxes', body: '{"__proto__":{"x":1}}', status: 400, code: 'BAD_REQUEST', message: /__proto__/ },
  // Wrong types and values, named by field.
  { name: 'timeout as a string', method: 'POST', path: '/api/v1/sandboxes', body: '{"timeout":"ten"}', status: 400, code: 'BAD_REQUEST', message: /timeout: expected number/ },
  { name: 'negative cpu', method: 'POST', path: '/api/v1/sandboxes', body: '{"cpu":-1}', status: 400, code: 'BAD_REQUEST', message: /cpu: .*>=0/ },
  { name: 'env value a number', method: 'POST', path: '/api/v1/sandboxes', body: '{"env":{"A":1}}', status: 400, code: 'BAD_REQUEST', message: /env\.A: expected string/ },
  { name: 'unknown network mode', method: 'POST', path: '/api/v1/sandboxes', body: '{"network_mode":"host"}', status: 400, code: 'VALIDATION_FAILED', message: /use "none", "internal" or "bridge"/ },
  { name: 'reserved label', method: 'POST', path: '/api/v1/sandboxes', body: '{"labels":{"burrow.id":"x"}}', status: 400, code: 'VALIDATION_FAILED', message: /may not start with "burrow\."/ },
  { name: 'relative workdir', method: 'POST', path: '/api/v1/sandboxes', body: '{"workdir":"relative"}', status: 400, code: 'INVALID_PATH', message: /workdir must be absolute/ },
  { name: 'tmpfs too large', method: 'POST', path: '/api/v1/sandboxes', body: '{"storage":{"tmpfs":[{"path":"/x","size":"5g"}]}}', status: 400, code: 'POLICY_VIOLATION', message: /exceeds the 4g maximum/ },
  { name: 'image that does not exist', method: 'POST', path: '/api/v1/sandboxes', body: '{"image":"burrow-test/nothing:1"}', status: 404, code: 'IMAGE_NOT_FOUND', message: /burrow-test\/nothing:1/ },
  { name: 'exec cmd as a string', method: 'POST', path: '/api/v1/sandboxes/:id/exec', body: '{"cmd":"ls -la"}', status: 400, code: 'VALIDATION_FAILED', message: /use \["sh", "-c", "<command>"\]/ },
  { name: 'exec without cmd', method: 'POST', path: '/api/v1/sandboxes/:id/exec', body: '{}', status: 400, code: 'VALIDATION_FAILED', message: /cmd is required/ },
  { name: 'exec env as a string', method: 'POST', path: '/api/v1/sandboxes/:id/exec', body: '{"cmd":["ls"],"env":"A=1"}', status: 400, code: 'BAD_REQUEST', message: /env: expected record/ },
  { name: 'exec relative workdir', method: 'POST', path: '/api/v1/sandboxes/:id/exec', body: '{"cmd":["pwd"],"workdir":"tmp"}', status: 400, code: 'INVALID_PATH', message: /workdir must be absolute/ },
  { name: 'timeout missing', method: 'POST', path: '/api/v1/sandboxes/:id/timeout', body: '{}', status: 400, code: 'BAD_REQUEST', message: /timeout: expected number/ },
  { name: 'snapshot name a number', method: 'POST', path: '/api/v1/sandboxes/:id/snapshots', body: '{"name":5}', status: 400, code: 'BAD_REQUEST', message: /name: expected string/ },
  // Things that do not exist.
  { name: 'unknown sandbox', method: 'GET', path: '/api/v1/sandboxes/nope', status: 404, code: 'SANDBOX_NOT_FOUND', message: /sandbox not found/ },
  { name: 'exec in an unknown sandbox', method: 'POST', path: '/api/v1/sandboxes/nope/exec', body: '{"cmd":["ls"]}', status: 404, code: 'SANDBOX_NOT_FOUND', message: /sandbox not found/ },
  { name: 'delete an unknown sandbox', method: 'DELETE', path: '/api/v1/sandboxes/nope', status: 404, code: 'SANDBOX_NOT_FOUND', message: /sandbox not found/ },
  { name: 'restore an unknown snapshot', method: 'POST', path: '/api/v1/snapshots/snap-nope/restore', status: 404, code: 'SNAPSHOT_NOT_FOUND', message: /snap-nope/ },
  { name: 'missing file', method: 'GET', path: '/api/v1/sandboxes/:id/files?path=/nope', status: 404, code: 'FILE_NOT_FOUND', message: /\/nope: no such file or directory/ },
  { name: 'unknown route', method: 'GET', path: '/api/v1/nope', status: 404, code: 'ROUTE_NOT_FOUND', message: /openapi\.json/ },
  { name: 'wrong method', method: 'PATCH', path: '/api/v1/sandboxes/:id', status: 405, code: 'METHOD_NOT_ALLOWED', message: /use GET or DELETE/ },
  // Paths that try to leave the sandbox's namespace or are not paths.
  { name: 'read with ..', method: 'GET', path: '/api/v1/sandboxes/:id/files?path=/tmp/../../etc/shadow', status: 400, code: 'INVALID_PATH', message: /may not contain "\.\." components/ },
  { name: 'write with ..', method: 'PUT', path: '/api/v1/sandboxes/:id/files?path=/tmp/../x', body: 'data', status: 400, code: 'INVALID_PATH', message: /may not contain "\.\." components/ },
  { name: 'relative path', method: 'GET', path: '/api/v1/sandboxes/:id/files?path=etc/passwd', status: 400, code: 'INVALID_PATH', message: /must be absolute/ },
  { name: 'NUL in a path', method: 'GET', path: '/api/v1/sandboxes/:id/files/stat?path=/tmp/%00x', status: 400, code: 'INVALID_PATH', message: /NUL byte/ },
  { name: 'no path', method: 'DELETE', path: '/api/v1/sandboxes/:id/files', status: 400, code: 'INVALID_PATH', message: /add \?path=/ },
  { name: 'mkdir with ..', method: 'POST', path: '/api/v1/sandboxes/:id/files/mkdir?path=/a/../../b', status: 400, code: 'INVALID_PATH', message: /"\.\."/ },
  { name: 'list a file', method: 'GET', path: '/api/v1/sandboxes/:id/files/list?path=/etc/passwd', status: 400, code: 'NOT_A_DIRECTORY', message: /not a directory/ },
  { name: 'tmpfs path with ..', method: 'POST', path: '/api/v1/sandboxes', body: '{"storage":{"tmpfs":[{"path":"/a/../etc","size":"1m"}]}}', status: 400, code: 'INVALID_PATH', message: /storage\.tmpfs path may not contain "\.\."/ },
  { name: 'volume name escaping', method: 'POST', path: '/api/v1/sandboxes', body: '{"storage":{"volumes":[{"name":"../x","mount_path":"/v"}]}}', status: 400, code: 'POLICY_VIOLATION', message: /name "\.\.\/x" is not valid/ },
  { name: 'upload that is not a form', method: 'POST', path: '/api/v1/sandboxes/:id/files/upload?path=/tmp/x', body: 'x'.repeat(2 * 1024 * 1024), headers: { 'content-type': 'application/octet-stream' }, status: 400, code: 'BAD_REQUEST', message: /send Content-Type multipart\/form-data/ },
];

let server: ChildServer;
let dataDir: string;
let burrow: Burrow;
let sandbox: Sandbox;

beforeAll(async () => {
  dataDir = await makeDataDir();
  server = await spawnServer({ dataDir });
  burrow = new Burrow({ url: server.url });
  sandbox = await burrow.create();
});

afterAll(async () => {
  await sandbox?.destroy().catch(() => undefined);
  server?.process.kill('SIGTERM');
  await server?.exited;
  if (server !== undefined) await removeInstance(server.instance);
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

describe('malformed requests', () => {
  it.each(CASES)('$name: $status $code', async (testCase) => {
    const response = await fetch(`${server.url}${testCase.path.replace(':id', sandbox.id)}`, {
      method: testCase.method,
      headers: testCase.body === undefined ? {} : { ...JSON_TYPE, ...testCase.headers },
      ...(testCase.body === undefined ? {} : { body: testCase.body }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(testCase.status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text) as { error?: unknown; code?: unknown };
    expect(body.code).toBe(testCase.code);
    expect(body.error).toMatch(testCase.message);
  });

  it('left nothing behind and the server still serves', async () => {
    expect(server.process.exitCode).toBeNull();
    expect(await burrow.health()).toMatchObject({ ok: true });
    expect((await burrow.list()).map((item) => item.id)).toEqual([sandbox.id]);
    expect((await sandbox.commands.run(['echo', 'alive'])).stdout).toBe('alive\n');
  });
});
