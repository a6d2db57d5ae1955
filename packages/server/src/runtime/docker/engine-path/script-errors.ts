/**
 * Failures of the Engine API path's scripts, as the same BurrowErrors the agent sends (agent-errors.ts): from an
 * errno the script named itself, or from the strerror text a tool printed (LC_ALL=C, so glibc and musl English).
 */
import { BurrowError } from '@burrow/protocol';
import { agentFailure } from '../../agent/agent-errors.js';
import { MESSAGE_BYTE } from './scripts.js';

const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EACCES: 13,
  EEXIST: 17,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOSPC: 28,
  EROFS: 30,
  ENAMETOOLONG: 36,
  EDQUOT: 122,
} as const;

/** Most specific first: a tool may print more than one message. */
const STRERROR: readonly [RegExp, number][] = [
  [/Read-only file system/i, ERRNO.EROFS],
  [/No space left on device/i, ERRNO.ENOSPC],
  [/quota exceeded/i, ERRNO.EDQUOT],
  [/Is a directory/i, ERRNO.EISDIR],
  [/Not a directory/i, ERRNO.ENOTDIR],
  [/File exists/i, ERRNO.EEXIST],
  [/File ?name too long/i, ERRNO.ENAMETOOLONG],
  [/Permission denied/i, ERRNO.EACCES],
  [/Operation not permitted/i, ERRNO.EPERM],
  [/No such file or directory/i, ERRNO.ENOENT],
];

export interface ScriptMessages {
  errno?: string;
  tool?: string;
  pid?: number;
  /** stderr without the message lines. */
  text: string;
}

/** Splits a script's stderr into its messages to the server and the rest. */
export function scriptMessages(stderr: Buffer): ScriptMessages {
  const result: ScriptMessages = { text: '' };
  const rest: string[] = [];
  for (const line of stderr.toString('utf8').split('\n')) {
    if (line.charCodeAt(0) !== MESSAGE_BYTE) {
      rest.push(line);
      continue;
    }
    const [, kind, value = ''] = /^.burrow:(\w+):(.*)$/.exec(line) ?? [];
    if (kind === 'errno') result.errno = value;
    else if (kind === 'tool') result.tool = value;
    else if (kind === 'pid') result.pid = Number(value);
  }
  result.text = rest.join('\n').trim();
  return result;
}

/** A tool the image lacks: the Engine API path cannot work around it. */
export function missingTool(tool: string, what: string): BurrowError {
  return new BurrowError(
    'NOT_SUPPORTED',
    `${what} needs "${tool}" in the sandbox image, which lacks it: without the burrow-agent, Burrow works through ` +
      "the image's own shell tools (busybox or coreutils); add them to the image or run Burrow with the agent",
  );
}

/** The error a failed script stands for; `what` names the operation for messages that map to nothing known. */
export function scriptFailure(stderr: Buffer, exitCode: number, what: string, path?: string): BurrowError {
  const messages = scriptMessages(stderr);
  if (messages.tool !== undefined) return missingTool(messages.tool, what);
  if (messages.errno !== undefined) {
    return agentFailure(
      (ERRNO as Record<string, number | undefined>)[messages.errno] ?? 0,
      messages.errno,
      path,
    );
  }
  for (const [pattern, errno] of STRERROR) {
    if (pattern.test(messages.text)) return agentFailure(errno, messages.text, path);
  }
  if (exitCode === 127 && /not found/i.test(messages.text)) {
    return missingTool(/([\w.-]+): not found/i.exec(messages.text)?.[1] ?? 'a tool', what);
  }
  const detail = messages.text === '' ? `exit code ${exitCode}` : messages.text.slice(0, 500);
  return new BurrowError('INTERNAL', `${what}${path === undefined ? '' : ` ${path}`} failed: ${detail}`);
}
