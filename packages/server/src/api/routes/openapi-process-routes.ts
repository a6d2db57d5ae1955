/** The OpenAPI description of the background process and watch routes (see openapi-routes.ts). */
import type { RouteSpec } from './openapi-spec.js';

const PROCESSES = '/api/v1/sandboxes/{id}/processes';
const PROCESS = `${PROCESSES}/{processId}`;
const success = { 200: { description: 'Done', schema: 'SuccessResponse' } };
const processReply = (description: string) => ({ 200: { description, schema: 'ProcessInfo' } });

export const PROCESS_ROUTE_SPECS: RouteSpec[] = [
  {
    method: 'post',
    path: PROCESSES,
    summary:
      'Start a background process: it keeps running after the response and after its client is gone, until it exits, is killed or the sandbox stops',
    tag: 'processes',
    body: 'StartProcessRequest',
    responses: { 201: { description: 'Started', schema: 'ProcessInfo' } },
    errors: [400, 404, 409, 501],
  },
  {
    method: 'get',
    path: PROCESSES,
    summary: "The sandbox's processes: running ones and the last 64 exited ones",
    tag: 'processes',
    responses: { 200: { description: 'OK', schema: '[ProcessInfo]' } },
    errors: [404, 409, 501],
  },
  {
    method: 'get',
    path: PROCESS,
    summary: 'One process',
    tag: 'processes',
    responses: processReply('OK'),
    errors: [404, 409, 501],
  },
  {
    method: 'post',
    path: `${PROCESS}/wait`,
    summary:
      'Wait for the process to exit, at most `timeout` seconds (query or body; default 30, at most 3600); answers with the process, running or exited',
    tag: 'processes',
    body: 'WaitProcessRequest',
    bodyOptional: true,
    query: [{ name: 'timeout', description: 'Seconds to wait (wins over the body)', type: 'number' }],
    responses: processReply('Exited, or still running when the timeout passed'),
    errors: [400, 404, 409, 501],
  },
  {
    method: 'post',
    path: `${PROCESS}/input`,
    summary: "Write to the process's stdin (`data` text or `data_base64` bytes), and close it with `eof`",
    tag: 'processes',
    body: 'ProcessInputRequest',
    responses: success,
    errors: [400, 404, 409, 501],
  },
  {
    method: 'post',
    path: `${PROCESS}/signal`,
    summary: "Send a signal to the process's group",
    tag: 'processes',
    body: 'SignalProcessRequest',
    responses: success,
    errors: [400, 404, 409, 501],
  },
  {
    method: 'post',
    path: `${PROCESS}/kill`,
    summary: 'Kill the process and every descendant; answers once it has exited',
    tag: 'processes',
    responses: processReply('Exited'),
    errors: [404, 409, 501],
  },
  {
    method: 'post',
    path: `${PROCESS}/resize`,
    summary: "Resize the process's terminal",
    tag: 'processes',
    body: 'ResizeProcessRequest',
    responses: success,
    errors: [400, 404, 409, 501],
  },
  {
    method: 'get',
    path: `${PROCESS}/output`,
    summary:
      "What the process's replay buffer holds now, as text; `*_truncated` says when earlier output is missing",
    tag: 'processes',
    query: [
      {
        name: 'max_bytes',
        description: 'Keep the last this many bytes per stream (default 1 MiB, at most 8 MiB)',
        type: 'number',
      },
    ],
    responses: { 200: { description: 'OK', schema: 'ProcessOutput' } },
    errors: [400, 404, 409, 501],
  },
  {
    method: 'get',
    path: `${PROCESS}/attach`,
    summary:
      "WebSocket: the process's output (replayed from its buffer first with ?replay=true) as AttachServerMessage frames, terminal output as binary frames; the client sends binary frames (stdin) and AttachClientMessage frames. Closing detaches; the process runs on.",
    tag: 'processes',
    query: [{ name: 'replay', description: 'Start with what the process printed so far', type: 'boolean' }],
    responses: { 101: { description: 'Switching protocols', schema: 'AttachServerMessage' } },
    errors: [400, 403, 404, 409, 501],
  },
  {
    method: 'get',
    path: '/api/v1/sandboxes/{id}/watch',
    summary:
      'WebSocket: changes under a directory (inotify inside the sandbox) as WatchServerMessage frames: "watching" first, then events; "overflow" when events were lost',
    tag: 'files',
    pathQuery: 'required',
    query: [
      {
        name: 'recursive',
        description: "Watch the whole tree, not only the directory's entries",
        type: 'boolean',
      },
    ],
    responses: { 101: { description: 'Switching protocols', schema: 'WatchServerMessage' } },
    errors: [400, 403, 404, 409, 501],
  },
];
